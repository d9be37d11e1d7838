resource "aws_lambda_function" "function" {
  function_name = "${var.service.name}-${var.service_instance.name}"
  filename      = "${path.module}/function.zip"
  role          = "arn:aws:iam::${var.environment.account_id}:role/${var.environment.outputs.RoleName}"
  memory_size   = var.service_instance.inputs.memory
  handler       = lookup(var.service_instance.inputs, "handler", "index.handler")
  runtime       = "python3.12"
  environment {
    variables = {
      ENVIRONMENT = var.environment.name
      BRANCH      = var.service.branch_name
      COMPONENT   = jsonencode(var.service_instance.components)
    }
  }
  tags = var.proton_tags
}
