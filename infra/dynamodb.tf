# The event store: one table, laid out as src/store/dynamodb/keys.rs describes (events by month,
# per-day and per-engineer aggregates, the store's totals) with two indexes. `pipeline-events-api
# create-table` makes the same table for a local endpoint; a test checks the two agree.
resource "aws_dynamodb_table" "events" {
  #checkov:skip=CKV_AWS_119:DynamoDB encrypts every table at rest; with no server_side_encryption block it uses an AWS-owned key (free, no KMS permissions to grant). The events are build metadata: a customer-managed key adds cost and key-policy upkeep for no gain.
  name         = "${local.name}-events"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  # A `terraform destroy` of prod must not take the data with it: turn this off first, on purpose.
  deletion_protection_enabled = var.dynamodb_deletion_protection

  # On-demand, but capped: above these DynamoDB throttles (the function answers 503
  # store_unavailable) instead of billing without limit. Each index has the same caps: a Query
  # of an index is billed to the index, and every event written is written to both.
  on_demand_throughput {
    max_read_request_units  = var.dynamodb_max_read_request_units
    max_write_request_units = var.dynamodb_max_write_request_units
  }

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  attribute {
    name = "gsi1pk"
    type = "S"
  }

  attribute {
    name = "gsi2pk"
    type = "S"
  }

  # Events by engineer: ENG#<name>, in (timestamp, id) order.
  global_secondary_index {
    name            = "by-engineer"
    hash_key        = "gsi1pk"
    range_key       = "sk"
    projection_type = "ALL"

    on_demand_throughput {
      max_read_request_units  = var.dynamodb_max_read_request_units
      max_write_request_units = var.dynamodb_max_write_request_units
    }
  }

  # Events by action and month: ACT#<action>#<YYYY-MM>, in (timestamp, id) order.
  global_secondary_index {
    name            = "by-action"
    hash_key        = "gsi2pk"
    range_key       = "sk"
    projection_type = "ALL"

    on_demand_throughput {
      max_read_request_units  = var.dynamodb_max_read_request_units
      max_write_request_units = var.dynamodb_max_write_request_units
    }
  }

  point_in_time_recovery {
    enabled = true
  }

  # Idempotency records (IDEM#<key>) carry `expires`; DynamoDB deletes them some time after it.
  # The function also ignores a record past its expiry, as deletion can lag by days.
  ttl {
    attribute_name = "expires"
    enabled        = true
  }

  # hash_key/range_key in global_secondary_index are deprecated from provider 6.29 in favour of
  # key_schema blocks, which had plan diffs and index replacements in early 6.3x releases: kept
  # until the lock file pins a release with those fixed. Deprecated means a warning, not an error.
}

# Exactly what the function does: reads with GetItem and Query (table and indexes); records an
# event with UpdateItem (the id counter), BatchGetItem (the aggregates it changes) and one
# TransactWriteItems, which IAM authorizes as the PutItem, UpdateItem and DeleteItem actions
# inside it. It deletes only the ships a new ship ends (`SVC#<service>#SHIPS`), and only within
# a transaction.
data "aws_iam_policy_document" "lambda_events_table" {
  statement {
    sid       = "ReadEventStore"
    actions   = ["dynamodb:GetItem", "dynamodb:Query"]
    resources = [aws_dynamodb_table.events.arn, "${aws_dynamodb_table.events.arn}/index/*"]
  }

  statement {
    sid       = "RecordEvents"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.events.arn]
  }

  statement {
    sid       = "EndShips"
    actions   = ["dynamodb:DeleteItem"]
    resources = [aws_dynamodb_table.events.arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["SVC#*#SHIPS"]
    }

    condition {
      test     = "ForAnyValue:StringEquals"
      variable = "dynamodb:EnclosingOperation"
      values   = ["TransactWriteItems"]
    }
  }
}

resource "aws_iam_role_policy" "lambda_events_table" {
  name   = "${local.name}-lambda-events-table"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda_events_table.json
}
