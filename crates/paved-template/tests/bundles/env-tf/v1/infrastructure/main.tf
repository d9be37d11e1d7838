provider "aws" {
  default_tags {
    tags = var.proton_tags
  }
}

resource "aws_ssm_parameter" "value" {
  name  = "/${var.environment.name}/${var.environment.account_id}/value"
  type  = "String"
  value = var.environment.inputs.ssm_parameter_value
  # An optional input without a default is absent, as in Proton's files.
  description = contains(keys(var.environment.inputs), "retention") ? "kept" : "default"
}
