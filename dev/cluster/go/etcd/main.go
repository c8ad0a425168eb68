// Command etcd is the etcd server, built from its Go module (Debian's etcd is too old for
// Kubernetes 1.36).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
