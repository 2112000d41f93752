resource "aws_sns_topic" "alarms" {
  #checkov:skip=CKV_AWS_26:CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed SNS key, and alarm notices hold no sensitive data; a CMK per environment is not worth its key policy here.
  name = "${local.name}-alarms"
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  # Maps, not objects: every alarm below must have the same type for for_each.
  lambda_dimensions = tomap({ FunctionName = aws_lambda_function.api.function_name })
  table_dimensions  = tomap({ TableName = aws_dynamodb_table.events.name })
  api_dimensions    = tomap({ ApiName = aws_api_gateway_rest_api.api.name, Stage = aws_api_gateway_stage.api.stage_name })

  # Each alarm fires above `threshold` (a count, or ms for latency) in `periods` 5-minute periods.
  alarms = {
    lambda-errors = {
      description = "The function failed (unhandled errors or timeouts)."
      namespace   = "AWS/Lambda", metric = "Errors", dimensions = local.lambda_dimensions
      statistic   = "Sum", threshold = 0, periods = 1
    }
    lambda-throttles = {
      description = "Invocations were throttled: concurrency is exhausted."
      namespace   = "AWS/Lambda", metric = "Throttles", dimensions = local.lambda_dimensions
      statistic   = "Sum", threshold = 0, periods = 1
    }
    api-5xx = {
      description = "The API answered 5XX: the function failed, timed out or was throttled."
      namespace   = "AWS/ApiGateway", metric = "5XXError", dimensions = local.api_dimensions
      statistic   = "Sum", threshold = 0, periods = 1
    }
    dynamodb-read-throttles = {
      description = "Reads of the events table were throttled: event routes answer 503 store_unavailable."
      namespace   = "AWS/DynamoDB", metric = "ReadThrottleEvents", dimensions = local.table_dimensions
      statistic   = "Sum", threshold = 0, periods = 1
    }
    dynamodb-by-engineer-throttles = {
      description = "Queries of the events table's by-engineer index were throttled: those routes answer 503."
      namespace   = "AWS/DynamoDB", metric = "ReadThrottleEvents"
      dimensions  = tomap({ TableName = aws_dynamodb_table.events.name, GlobalSecondaryIndexName = "by-engineer" })
      statistic   = "Sum", threshold = 0, periods = 1
    }
    dynamodb-by-action-throttles = {
      description = "Queries of the events table's by-action index were throttled: those routes answer 503."
      namespace   = "AWS/DynamoDB", metric = "ReadThrottleEvents"
      dimensions  = tomap({ TableName = aws_dynamodb_table.events.name, GlobalSecondaryIndexName = "by-action" })
      statistic   = "Sum", threshold = 0, periods = 1
    }
    dynamodb-write-throttles = {
      description = "Writes to the events table were throttled (imports retry them)."
      namespace   = "AWS/DynamoDB", metric = "WriteThrottleEvents", dimensions = local.table_dimensions
      statistic   = "Sum", threshold = 0, periods = 1
    }
    api-latency-p99 = {
      description = "p99 latency at API Gateway above ${var.latency_p99_threshold_ms} ms for 15 minutes."
      namespace   = "AWS/ApiGateway", metric = "Latency", dimensions = local.api_dimensions
      statistic   = "p99", threshold = var.latency_p99_threshold_ms, periods = 3
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "api" {
  for_each = local.alarms

  alarm_name          = "${local.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = startswith(each.value.statistic, "p") ? null : each.value.statistic
  extended_statistic  = startswith(each.value.statistic, "p") ? each.value.statistic : null
  period              = 300
  evaluation_periods  = each.value.periods
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

# Capacity consumed near the on-demand caps (dynamodb.tf), for the table and for each index,
# reads and writes: at a cap DynamoDB throttles and the event routes answer 503
# store_unavailable, so this says it is coming, and that something reads or writes far more than
# the pipelines do. DynamoDB reports consumed units per minute: the Sum over 60 s divided by 60 is
# the average per second, which is what the caps limit.
locals {
  capacity_alarm_fraction = 0.8
  # Maps of the same type for every entry, as local.alarms: the table's dimensions or an index's.
  capacity_alarms = {
    table-read        = { what = "table", metric = "ConsumedReadCapacityUnits", cap = var.dynamodb_max_read_request_units, dimensions = local.table_dimensions }
    table-write       = { what = "table", metric = "ConsumedWriteCapacityUnits", cap = var.dynamodb_max_write_request_units, dimensions = local.table_dimensions }
    by-engineer-read  = { what = "by-engineer index", metric = "ConsumedReadCapacityUnits", cap = var.dynamodb_max_read_request_units, dimensions = tomap({ TableName = aws_dynamodb_table.events.name, GlobalSecondaryIndexName = "by-engineer" }) }
    by-engineer-write = { what = "by-engineer index", metric = "ConsumedWriteCapacityUnits", cap = var.dynamodb_max_write_request_units, dimensions = tomap({ TableName = aws_dynamodb_table.events.name, GlobalSecondaryIndexName = "by-engineer" }) }
    by-action-read    = { what = "by-action index", metric = "ConsumedReadCapacityUnits", cap = var.dynamodb_max_read_request_units, dimensions = tomap({ TableName = aws_dynamodb_table.events.name, GlobalSecondaryIndexName = "by-action" }) }
    by-action-write   = { what = "by-action index", metric = "ConsumedWriteCapacityUnits", cap = var.dynamodb_max_write_request_units, dimensions = tomap({ TableName = aws_dynamodb_table.events.name, GlobalSecondaryIndexName = "by-action" }) }
  }
}

resource "aws_cloudwatch_metric_alarm" "dynamodb_capacity" {
  for_each = local.capacity_alarms

  alarm_name          = "${local.name}-dynamodb-${each.key}-near-cap"
  alarm_description   = "The events ${each.value.what}: ${each.value.metric} above ${local.capacity_alarm_fraction * 100}% of its cap (${each.value.cap} units/s) for 3 minutes; at the cap requests answer 503 store_unavailable."
  namespace           = "AWS/DynamoDB"
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 3
  threshold           = local.capacity_alarm_fraction * each.value.cap * 60
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

# DynamoDB reports SystemErrors per operation: one alarm over the operations the service uses
# (reads; POST /events' UpdateItem and TransactWriteItems; import's BatchWriteItem).
resource "aws_cloudwatch_metric_alarm" "dynamodb_system_errors" {
  alarm_name          = "${local.name}-dynamodb-system-errors"
  alarm_description   = "DynamoDB answered the events table's requests with internal errors (HTTP 500)."
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  metric_query {
    id          = "errors"
    expression  = "SUM([opgetitem, opquery, opbatchgetitem, opbatchwriteitem, opupdateitem, optransactwriteitems])"
    label       = "SystemErrors"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = ["GetItem", "Query", "BatchGetItem", "BatchWriteItem", "UpdateItem", "TransactWriteItems"]
    content {
      id = "op${lower(metric_query.value)}"
      metric {
        namespace   = "AWS/DynamoDB"
        metric_name = "SystemErrors"
        dimensions  = { TableName = aws_dynamodb_table.events.name, Operation = metric_query.value }
        stat        = "Sum"
        period      = 300
      }
    }
  }
}

resource "aws_cloudwatch_dashboard" "api" {
  dashboard_name = local.name
  dashboard_body = jsonencode({
    widgets = [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title  = "Requests and errors (API Gateway)"
          region = var.aws_region
          stat   = "Sum"
          period = 60
          metrics = [
            ["AWS/ApiGateway", "Count", "ApiName", local.api_dimensions.ApiName, "Stage", local.api_dimensions.Stage],
            ["AWS/ApiGateway", "4XXError", "ApiName", local.api_dimensions.ApiName, "Stage", local.api_dimensions.Stage],
            ["AWS/ApiGateway", "5XXError", "ApiName", local.api_dimensions.ApiName, "Stage", local.api_dimensions.Stage],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title  = "Latency (API Gateway, ms)"
          region = var.aws_region
          period = 60
          metrics = [
            ["AWS/ApiGateway", "Latency", "ApiName", local.api_dimensions.ApiName, "Stage", local.api_dimensions.Stage, { stat = "p50" }],
            ["AWS/ApiGateway", "Latency", "ApiName", local.api_dimensions.ApiName, "Stage", local.api_dimensions.Stage, { stat = "p99" }],
            ["AWS/ApiGateway", "IntegrationLatency", "ApiName", local.api_dimensions.ApiName, "Stage", local.api_dimensions.Stage, { stat = "p99" }],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 12, height = 6
        properties = {
          title  = "Function invocations, errors, throttles"
          region = var.aws_region
          stat   = "Sum"
          period = 60
          metrics = [
            ["AWS/Lambda", "Invocations", "FunctionName", local.lambda_dimensions.FunctionName],
            ["AWS/Lambda", "Errors", "FunctionName", local.lambda_dimensions.FunctionName],
            ["AWS/Lambda", "Throttles", "FunctionName", local.lambda_dimensions.FunctionName],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 12, width = 12, height = 6
        properties = {
          title  = "Events table: capacity used"
          region = var.aws_region
          stat   = "Sum"
          period = 60
          metrics = [
            ["AWS/DynamoDB", "ConsumedReadCapacityUnits", "TableName", local.table_dimensions.TableName],
            ["AWS/DynamoDB", "ConsumedWriteCapacityUnits", "TableName", local.table_dimensions.TableName],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 12, width = 12, height = 6
        properties = {
          title  = "Events table: throttles and errors"
          region = var.aws_region
          stat   = "Sum"
          period = 60
          metrics = [
            ["AWS/DynamoDB", "ReadThrottleEvents", "TableName", local.table_dimensions.TableName],
            ["AWS/DynamoDB", "WriteThrottleEvents", "TableName", local.table_dimensions.TableName],
            ["AWS/DynamoDB", "SystemErrors", "TableName", local.table_dimensions.TableName, "Operation", "Query"],
            ["AWS/DynamoDB", "SystemErrors", "TableName", local.table_dimensions.TableName, "Operation", "GetItem"],
          ]
        }
      },
      {
        type = "log", x = 12, y = 6, width = 12, height = 6
        properties = {
          title  = "Cold starts (count and Init Duration, ms)"
          region = var.aws_region
          query  = "SOURCE '${aws_cloudwatch_log_group.lambda.name}' | filter @type = \"REPORT\" and ispresent(@initDuration) | stats count() as coldStarts, avg(@initDuration) as avgInitMs, max(@initDuration) as maxInitMs by bin(5m)"
          view   = "timeSeries"
        }
      },
    ]
  })
}
