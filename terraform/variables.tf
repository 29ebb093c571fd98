variable "namespace" {
  type    = string
  default = "harbormaster"
}

variable "database_url" {
  type        = string
  sensitive   = true
  description = "postgres:// URL of the production database"
}

variable "redis_url" {
  type        = string
  sensitive   = true
  description = "redis:// URL for BullMQ"
}

variable "master_key" {
  type        = string
  sensitive   = true
  default     = null
  description = "base64 of 32 bytes; generated when unset (keep the state safe: losing it loses every sealed secret)"
}

variable "image_tag" {
  type    = string
  default = "0.1.0"
}

variable "api_replicas" {
  type    = number
  default = 2
}

variable "worker_replicas" {
  type    = number
  default = 2
}
