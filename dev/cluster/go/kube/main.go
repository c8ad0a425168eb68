// Command kube is one binary holding the Kubernetes control-plane components the tests run
// (kube-apiserver, kube-controller-manager, kube-scheduler) and a kubectl of the same version.
// Each component still runs as its own process: in one process they would collide on global
// registries.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

var components = map[string]func() *cobra.Command{
	"kube-apiserver":          apiserver.NewAPIServerCommand,
	"kube-controller-manager": controllermanager.NewControllerManagerCommand,
	"kube-scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
	"kubectl":                 kubectlcmd.NewDefaultKubectlCommand,
}

func main() {
	// Called through a link named after a component, or as `kube <component> args...`.
	name, args := filepath.Base(os.Args[0]), os.Args[1:]
	if _, found := components[name]; !found && len(args) > 0 {
		name, args = args[0], args[1:]
	}
	newCommand, found := components[name]
	if !found {
		fmt.Fprintln(os.Stderr, "usage: kube kube-apiserver|kube-controller-manager|kube-scheduler|kubectl [args...]")
		os.Exit(2)
	}
	command := newCommand()
	command.SetArgs(args)
	if name == "kubectl" {
		// kubectl formats its own errors (and exit codes) the way users know them.
		if err := cli.RunNoErrOutput(command); err != nil {
			kubectlutil.CheckErr(err)
		}
		os.Exit(0)
	}
	os.Exit(cli.Run(command))
}
