"""Signs a webhook body as GitHub does, with Python's own hmac: an implementation other than
the service's. The body comes on stdin and the secret in WEBHOOK_SECRET, never on a command
line; prints `sha256=<hex>`."""

import hashlib
import hmac
import os
import sys

body = sys.stdin.buffer.read()
secret = os.environb[b"WEBHOOK_SECRET"]
print("sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest())
