"""AWS Lambda entry point: `handlers.slack.lambda_handler.handler`.

Built at module scope, once per container: configuration errors (a missing variable, an unreadable
secret) fail the cold start with a message naming what is missing.
"""

from handlers.slack.aws_lambda import create_lambda_handler
from handlers.slack.config import BotConfig, CredentialSource

_config = BotConfig.from_env()
_credentials = CredentialSource(_config)
_credentials.get()  # an unreadable or malformed secret fails the cold start, naming the secret
handler = create_lambda_handler(_config, _credentials)
