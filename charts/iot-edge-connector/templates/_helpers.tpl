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

{{/* Every configured node name, checked: a node needs a name, a hub, a Functions URL and a key Secret. */}}
{{- define "iot-edge-connector.nodeNames" -}}
{{- if not .Values.nodes -}}{{- fail "nodes: configure at least one virtual node" -}}{{- end -}}
{{- range $i, $node := .Values.nodes -}}
{{- $_ := required (printf "nodes[%d].name is required" $i) $node.name -}}
{{- $_ := required (printf "nodes[%d].hubName is required" $i) $node.hubName -}}
{{- $_ := required (printf "nodes[%d].functionsUrl is required" $i) $node.functionsUrl -}}
{{- $_ := required (printf "nodes[%d].functionKeySecret.name is required" $i) ($node.functionKeySecret | default dict).name -}}
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
