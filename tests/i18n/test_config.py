"""Config, channel and store messages in Russian and Ukrainian: each names the file or key and says the fix."""

from __future__ import annotations

import pytest

from unpaid.channel import ChannelUnavailable, Message
from unpaid.i18n import speaking


@pytest.fixture(autouse=True)
def _english_after():
    """A command run in-process leaves its language active: the next test starts in English again."""
    from unpaid.i18n import speaking

    with speaking("en"):
        yield


def write_config(tmp_path, text: str) -> None:
    (tmp_path / "unpaid.toml").write_text(text, encoding="utf-8")


@pytest.mark.parametrize("language, words", [
    ("ru", ("параметр `timezone` должен быть строкой", "укажите, например, timezone = ")),
    ("uk", ("параметр `timezone` має бути рядком", "вкажіть, наприклад, timezone = ")),
])
def test_a_config_error_names_the_key_in_the_shops_language(cli, tmp_path, language, words):
    write_config(tmp_path, "timezone = 5\n")
    result = cli(["orders"], env={"UNPAID_LANG": language})
    assert result.exit_code == 2
    assert str(tmp_path / "unpaid.toml") in result.stderr
    for phrase in words:
        assert phrase in result.stderr, result.stderr


def test_the_configs_own_language_speaks_its_errors(cli, tmp_path):
    write_config(tmp_path, 'language = "uk"\ndefault_country = "99999"\n')
    result = cli(["orders"])
    assert result.exit_code == 2
    assert "параметр `default_country` дорівнює '99999', а це не телефонний код країни" in result.stderr
    write_config(tmp_path, 'language = "ru"\ncolour = "red"\n')
    result = cli(["orders"])
    assert "параметр `colour` не поддерживается — удалите его или используйте одну из: calendar," in result.stderr
    write_config(tmp_path, 'language = "ru"\n[sources.Shop]\ntype = "csv"\n')
    result = cli(["orders"])
    assert "параметр `sources.Shop` имеет недопустимое имя" in result.stderr
    assert "используйте строчные латинские буквы" in result.stderr


def test_english_config_errors_read_as_before(cli, tmp_path):
    write_config(tmp_path, "timezone = 5\n")
    result = cli(["orders"])
    assert f"{tmp_path / 'unpaid.toml'}: `timezone` must be a string — write e.g. timezone = \"Europe/Moscow\"" \
        in result.stderr


@pytest.mark.parametrize("language, phrase", [
    ("ru", "[channels.mail] port: должен быть целым числом, а не 'x'"),
    ("uk", "[channels.mail] port: має бути цілим числом, а не 'x'"),
])
def test_channel_settings_problems_in_doctor(cli, tmp_path, language, phrase):
    write_config(tmp_path, f'language = "{language}"\n[channels.mail]\ntype = "smtp"\nhost = "smtp.example.com"\n'
                           'sender = "shop@example.com"\nport = "x"\n')
    result = cli(["doctor"])
    assert phrase in result.stdout, result.stdout
    assert ("напишите port = 587 (без кавычек)" if language == "ru" else "напишіть port = 587 (без лапок)") \
        in result.stdout


@pytest.mark.parametrize("language, phrase, fix", [
    ("ru", "не удалось записать в", "проверьте `path` канала outbox, права доступа и свободное место"),
    ("uk", "не вдалося записати до", "перевірте `path` каналу outbox, права доступу й вільне місце"),
])
def test_a_send_failure_says_what_and_the_fix(tmp_path, language, phrase, fix):
    from unpaid.channels.outbox import OutboxChannel

    (tmp_path / "taken").write_text("a file where the folder should be", encoding="utf-8")
    channel = OutboxChannel("letters", {"path": str(tmp_path / "taken" / "out")})
    with speaking(language), pytest.raises(ChannelUnavailable) as caught:
        channel.send(Message("shop:1", "a@example.com", "Оплата заказа", "Здравствуйте!", "key-1"))
    assert str(caught.value).startswith(f"letters: {phrase} {tmp_path / 'taken' / 'out'}")
    assert caught.value.fix == fix


@pytest.mark.parametrize("language, phrase", [
    ("ru", "не удалось подключиться к 127.0.0.1:"),
    ("uk", "не вдалося підключитися до 127.0.0.1:"),
])
def test_an_unreachable_smtp_server(language, phrase):
    import socket

    from unpaid.channels.smtp import SmtpChannel

    with socket.socket() as s:  # a port nobody listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        channel = SmtpChannel("mail", {"host": "127.0.0.1", "port": port, "sender": "shop@example.com",
                                       "security": "none", "timeout": 5}, {})
        with speaking(language):
            problems = channel.check(online=True)
    assert len(problems) == 1 and problems[0].message.startswith(phrase), problems
    assert problems[0].fix == ("проверьте host, port и сеть" if language == "ru" else "перевірте host, port і мережу")


@pytest.mark.parametrize("language, phrase, fix", [
    ("ru", "— папка, а не файл базы", "укажите в --db / UNPAID_DB путь к файлу"),
    ("uk", "— тека, а не файл бази", "вкажіть у --db / UNPAID_DB шлях до файлу"),
])
def test_a_store_that_is_a_folder(cli, tmp_path, language, phrase, fix):
    (tmp_path / "db").mkdir()
    result = cli(["orders"], env={"UNPAID_LANG": language, "UNPAID_DB": str(tmp_path / "db")})
    assert result.exit_code == 2
    assert f"{tmp_path / 'db'} {phrase} — {fix}" in result.stderr, result.stderr
