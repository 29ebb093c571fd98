# Installs Harbormaster into an existing Kubernetes cluster: the environment Secret the chart
# reads, then the chart itself. PostgreSQL and Redis are inputs, not created here.
terraform {
  required_version = ">= 1.5"
  required_providers {
    kubernetes = { source = "hashicorp/kubernetes", version = "~> 2.31" }
    helm       = { source = "hashicorp/helm", version = "~> 2.14" }
    random     = { source = "hashicorp/random", version = "~> 3.6" }
  }
}

resource "random_bytes" "master_key" {
  length = 32
}

resource "kubernetes_namespace" "harbormaster" {
  metadata {
    name = var.namespace
  }
}

resource "kubernetes_secret" "environment" {
  metadata {
    name      = "harbormaster-env"
    namespace = kubernetes_namespace.harbormaster.metadata[0].name
  }
  data = {
    DATABASE_URL  = var.database_url
    REDIS_URL     = var.redis_url
    HM_MASTER_KEY = coalesce(var.master_key, random_bytes.master_key.base64)
  }
}

resource "helm_release" "harbormaster" {
  name      = "harbormaster"
  namespace = kubernetes_namespace.harbormaster.metadata[0].name
  chart     = "${path.module}/../charts/harbormaster"

  set {
    name  = "image.tag"
    value = var.image_tag
  }
  set {
    name  = "api.replicas"
    value = var.api_replicas
  }
  set {
    name  = "worker.replicas"
    value = var.worker_replicas
  }
  set {
    name  = "existingSecret"
    value = kubernetes_secret.environment.metadata[0].name
  }
}
