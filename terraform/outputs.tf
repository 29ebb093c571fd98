output "api_service" {
  value = "${helm_release.harbormaster.name}-api.${var.namespace}.svc"
}
