{{/* Names and labels shared by every object of the release. */}}

{{- define "talaria.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* A component's name, e.g. talaria-controller. */}}
{{- define "talaria.componentName" -}}
{{- printf "%s-%s" (include "talaria.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "talaria.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: talaria
{{- end -}}

{{/* Selector labels of one component: {root, component}. */}}
{{- define "talaria.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "talaria.componentLabels" -}}
{{ include "talaria.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "talaria.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Port of a "host:port" bind address. */}}
{{- define "talaria.port" -}}
{{- regexReplaceAll "^.*:" . "" -}}
{{- end -}}

{{/* Env every Talaria container gets: API server override, node name, tracing. */}}
{{- define "talaria.commonEnv" -}}
- name: NODE_NAME
  valueFrom:
    fieldRef:
      fieldPath: spec.nodeName
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- with .Values.kubernetesApiServer.host }}
- name: KUBERNETES_SERVICE_HOST
  value: {{ . | quote }}
- name: KUBERNETES_SERVICE_PORT
  value: {{ $.Values.kubernetesApiServer.port | quote }}
{{- end }}
{{- if .Values.tracing.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .Values.tracing.otlpEndpoint | quote }}
- name: OTEL_TRACES_SAMPLER
  value: parentbased_traceidratio
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ .Values.tracing.samplerRatio | quote }}
{{- end }}
{{- end -}}


{{/* The API server URL Talaria uses (never through kube-proxy when kubernetesApiServer.host is set). */}}
{{- define "talaria.apiServerUrl" -}}
{{- if .Values.kubernetesApiServer.host -}}
{{- if contains ":" .Values.kubernetesApiServer.host -}}
{{- printf "https://[%s]:%v" .Values.kubernetesApiServer.host .Values.kubernetesApiServer.port -}}
{{- else -}}
{{- printf "https://%s:%v" .Values.kubernetesApiServer.host .Values.kubernetesApiServer.port -}}
{{- end -}}
{{- else -}}
https://kubernetes.default.svc:443
{{- end -}}
{{- end -}}

{{/* The kubeconfig volume and its mount. */}}
{{- define "talaria.kubeconfigVolume" -}}
- name: kubeconfig
  configMap:
    name: {{ include "talaria.fullname" . }}-kubeconfig
{{- end -}}
{{- define "talaria.kubeconfigMount" -}}
- name: kubeconfig
  mountPath: /etc/talaria
  readOnly: true
{{- end -}}

{{/* The controller's P4Runtime transport flags: mutual TLS from the client secret, or plaintext by name. */}}
{{- define "talaria.switchTransportArgs" -}}
{{- if .Values.switch.tls.enabled -}}
- --switch-ca-file=/etc/talaria-p4runtime/ca.crt
- --switch-cert-file=/etc/talaria-p4runtime/tls.crt
- --switch-key-file=/etc/talaria-p4runtime/tls.key
{{- with .Values.switch.tls.serverName }}
- --switch-server-name={{ . }}
{{- end }}
{{- else -}}
- --switch-insecure-plaintext
{{- end -}}
{{- end -}}
{{- define "talaria.switchTlsMount" -}}
{{- if .Values.switch.tls.enabled -}}
- name: p4runtime-tls
  mountPath: /etc/talaria-p4runtime
  readOnly: true
{{- end -}}
{{- end -}}
