"""The Slack bot: Bolt listeners, the reaction check, and its AWS Lambda and local entry points."""
