import pytest

from handlers.slack.text import plain_text


@pytest.mark.parametrize(
    ("slack_text", "plain"),
    [
        ("<@U024BE7LH> you are an idiot", "@user you are an idiot"),
        ("<@W0123ABC|bob> and <@U9>", "@user and @user"),
        ("see <#C024BE7LR|general> or <#C024BE7LR>", "see #general or #channel"),
        ("<!here> <!channel> <!everyone>", "@here @channel @everyone"),
        ("<!subteam^SAZ94GDB8|@ops> wake up", "@ops wake up"),
        ("due <!date^1392734382^{date}|Feb 18, 2014>", "due Feb 18, 2014"),
        ("read <https://example.com/a?b=1&amp;c=2|this> and <https://example.com>",
         "read this and https://example.com"),
        ("<mailto:a@example.com|mail me>", "mail me"),
        ("you &lt;3 cats &amp; dogs &gt; all", "you <3 cats & dogs > all"),
        ("typed literally: &amp;lt;", "typed literally: &lt;"),
        ("no markup at all, 🔥 naïve", "no markup at all, 🔥 naïve"),
        ("", ""),
    ],
)
def test_slack_markup_becomes_the_plain_text_the_model_learnt_from(slack_text: str, plain: str) -> None:
    assert plain_text(slack_text) == plain
