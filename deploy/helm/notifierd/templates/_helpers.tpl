{{/* Names and labels. */}}
{{- define "notifierd.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "notifierd.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "notifierd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "notifierd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "notifierd.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "notifierd.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: notifier
{{- end -}}

{{- define "notifierd.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "notifierd.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "notifierd.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the SASL password, or "" when there is none. */}}
{{- define "notifierd.secretName" -}}
{{- if .Values.secret.existingSecret -}}
{{- .Values.secret.existingSecret -}}
{{- else if .Values.secret.create -}}
{{- include "notifierd.fullname" . -}}
{{- end -}}
{{- end -}}

{{/*
notifierd.seconds: a Go duration made of whole units (1h, 2m30s, 20s, 500ms) in seconds,
rounded up. Fractions such as 1.5s are refused: the chart cannot parse every Go duration.
*/}}
{{- define "notifierd.seconds" -}}
{{- $d := toString . -}}
{{- $re := "^(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?$" -}}
{{- if or (eq $d "") (not (regexMatch $re $d)) -}}
{{- fail (printf "config.shutdown.timeout %q: the chart needs whole units such as 20s, 1m30s or 500ms" $d) -}}
{{- end -}}
{{- $h := regexReplaceAll $re $d "${1}" | default "0" | atoi -}}
{{- $m := regexReplaceAll $re $d "${2}" | default "0" | atoi -}}
{{- $s := regexReplaceAll $re $d "${3}" | default "0" | atoi -}}
{{- $ms := regexReplaceAll $re $d "${4}" | default "0" | atoi -}}
{{- add (mul $h 3600) (mul $m 60) $s (div (add $ms 999) 1000) -}}
{{- end -}}

{{/* The configuration file: config from values, admin.listen owned by the chart. */}}
{{- define "notifierd.config" -}}
{{- $cfg := deepCopy (default dict .Values.config) -}}
{{- $admin := default dict (get $cfg "admin") -}}
{{- $listen := printf "0.0.0.0:%d" (int .Values.adminPort) -}}
{{- if and (hasKey $admin "listen") (ne (toString (get $admin "listen")) $listen) -}}
{{- fail (printf "config.admin.listen is set by the chart to %s (the probes and the scrape use adminPort); leave it out" $listen) -}}
{{- end -}}
{{- $_ := set $admin "listen" $listen -}}
{{- $_ := set $cfg "admin" $admin -}}
{{- $kafka := default dict (get $cfg "kafka") -}}
{{- $sasl := default dict (get $kafka "sasl") -}}
{{- if hasKey $sasl "password" -}}
{{- fail "config.kafka.sasl.password must not be in values: set secret.saslPassword or secret.existingSecret (it reaches notifierd as NOTIFIERD_KAFKA_SASL_PASSWORD)" -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* Shutdown deadline in seconds (notifierd's default is 20s). */}}
{{- define "notifierd.shutdownSeconds" -}}
{{- $shutdown := default dict (get (default dict .Values.config) "shutdown") -}}
{{- include "notifierd.seconds" (default "20s" (get $shutdown "timeout")) -}}
{{- end -}}

{{- define "notifierd.terminationGracePeriodSeconds" -}}
{{- $shutdown := include "notifierd.shutdownSeconds" . | atoi -}}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds -}}
{{- add $shutdown 15 -}}
{{- else -}}
{{- $grace := int .Values.terminationGracePeriodSeconds -}}
{{- if lt $grace (add $shutdown 5) -}}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed config.shutdown.timeout (%ds) by at least 5 s, or Kubernetes kills notifierd before it commits what it drained" $grace $shutdown) -}}
{{- end -}}
{{- $grace -}}
{{- end -}}
{{- end -}}

{{/* Cross-value checks that no single template owns. */}}
{{- define "notifierd.validate" -}}
{{- $partitions := int .Values.partitions -}}
{{- if lt $partitions 1 -}}
{{- fail "partitions must be the partition count of config.kafka.topic (at least 1)" -}}
{{- end -}}
{{- if and (not .Values.autoscaling.enabled) (gt (int .Values.replicaCount) $partitions) -}}
{{- fail (printf "replicaCount (%d) is above partitions (%d): the extra replicas would get no partition" (int .Values.replicaCount) $partitions) -}}
{{- end -}}
{{- if .Values.autoscaling.enabled -}}
{{- if gt (int .Values.autoscaling.maxReplicas) $partitions -}}
{{- fail (printf "autoscaling.maxReplicas (%d) is above partitions (%d): the extra replicas would get no partition" (int .Values.autoscaling.maxReplicas) $partitions) -}}
{{- end -}}
{{- if gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas) -}}
{{- fail "autoscaling.minReplicas is above autoscaling.maxReplicas" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.metrics.serviceMonitor.enabled .Values.metrics.podMonitor.enabled -}}
{{- fail "enable metrics.serviceMonitor or metrics.podMonitor, not both (every sample would be scraped twice)" -}}
{{- end -}}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.service.enabled) -}}
{{- fail "metrics.serviceMonitor needs service.enabled" -}}
{{- end -}}
{{- if and .Values.secret.create .Values.secret.existingSecret -}}
{{- fail "set secret.create or secret.existingSecret, not both" -}}
{{- end -}}
{{- $sasl := default dict (get (default dict (get (default dict .Values.config) "kafka")) "sasl") -}}
{{- if and (get $sasl "mechanism") (not (include "notifierd.secretName" .)) -}}
{{- fail "config.kafka.sasl.mechanism is set but no Secret carries the password: set secret.create with secret.saslPassword, or secret.existingSecret" -}}
{{- end -}}
{{- if and .Values.secret.create (get $sasl "mechanism") (not .Values.secret.saslPassword) -}}
{{- fail "secret.create with config.kafka.sasl.mechanism needs secret.saslPassword (e.g. --set-file or --set secret.saslPassword=...)" -}}
{{- end -}}
{{- end -}}
