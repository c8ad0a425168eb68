{{- define "iot-edge-connector.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "iot-edge-connector.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "iot-edge-connector.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "iot-edge-connector.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Every configured node name, checked: a node needs a name, a hub, an https Functions URL, a key
Secret of its own, and namespaces to serve (never the release namespace, which holds the keys). */}}
{{- define "iot-edge-connector.nodeNames" -}}
{{- if not .Values.nodes -}}{{- fail "nodes: configure at least one virtual node" -}}{{- end -}}
{{- $keys := dict -}}
{{- range $i, $node := .Values.nodes -}}
{{- $_ := required (printf "nodes[%d].name is required" $i) $node.name -}}
{{- $_ := required (printf "nodes[%d].hubName is required" $i) $node.hubName -}}
{{- $url := required (printf "nodes[%d].functionsUrl is required" $i) $node.functionsUrl -}}
{{- if not (or (hasPrefix "https://" $url) $.Values.localDevelopment.allowHttpProvider) -}}{{- fail (printf "nodes[%d].functionsUrl must be an https URL: the node's key travels with every call" $i) -}}{{- end -}}
{{- $secret := ($node.functionKeySecret | default dict) -}}
{{- $_ := required (printf "nodes[%d].functionKeySecret.name is required" $i) $secret.name -}}
{{- $keyRef := printf "%s/%s" $secret.name ($secret.key | default "functionKey") -}}
{{- if hasKey $keys $keyRef -}}{{- fail (printf "nodes[%d].functionKeySecret: node %s uses the key of node %s; each node needs its own key" $i $node.name (get $keys $keyRef)) -}}{{- end -}}
{{- $_ := set $keys $keyRef $node.name -}}
{{- if not $node.namespaces -}}{{- fail (printf "nodes[%d].namespaces: name the namespaces whose pods the node serves" $i) -}}{{- end -}}
{{- if has $.Release.Namespace $node.namespaces -}}{{- fail (printf "nodes[%d].namespaces: the release namespace %s holds the nodes' keys and cannot be served" $i $.Release.Namespace) -}}{{- end -}}
{{- end -}}
{{- range .Values.nodes }}
- {{ .name | quote }}
{{- end -}}
{{- end -}}

{{/* A node's taint in kubectl's notation (key[=value]:Effect): its own, else the chart's. Call with (list $ $node). */}}
{{- define "iot-edge-connector.taint" -}}
{{- $root := index . 0 -}}
{{- $taint := (index . 1).taint | default $root.Values.taint -}}
{{- $taint.key -}}{{- with $taint.value -}}={{ . }}{{- end -}}:{{- $taint.effect -}}
{{- end -}}

{{/* The namespaces any node serves, each once, sorted. */}}
{{- define "iot-edge-connector.servedNamespaces" -}}
{{- $all := list -}}
{{- range .Values.nodes -}}{{- $all = concat $all (.namespaces | default list) -}}{{- end -}}
{{- range ($all | uniq | sortAlpha) }}
- {{ . | quote }}
{{- end -}}
{{- end -}}
