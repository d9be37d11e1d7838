resource "aws_codebuild_project" "deploy" {
  count        = length(var.service_instances)
  name         = "${var.service.name}-deploy-${var.service_instances[count.index].name}"
  service_role = "arn:aws:iam::${var.service_instances[count.index].environment.account_id}:role/deploy"
  source {
    type     = "CODEPIPELINE"
    location = "${var.service.repository_id}@${var.service.branch_name} via ${var.service.repository_connection_arn}"
  }
  environment {
    compute_type = "BUILD_GENERAL1_SMALL"
    image        = "aws/codebuild/standard:7.0"
    type         = "LINUX_CONTAINER"
    environment_variable {
      name  = "TEST"
      value = var.pipeline.inputs.unit_test_command
    }
    environment_variable {
      name  = "OUTPUTS"
      value = jsonencode(var.service_instances[count.index].outputs)
    }
    environment_variable {
      name  = "CLUSTER"
      value = jsonencode(var.service_instances[count.index].environment.outputs)
    }
    environment_variable {
      name  = "INPUTS"
      value = jsonencode(var.service_instances[count.index].inputs)
    }
  }
  artifacts {
    type = "CODEPIPELINE"
  }
}
