"""The admin commands, the demo, help and usage errors in Russian and Ukrainian."""

import io
from datetime import datetime, timezone

import pytest

from unpaid.config import parse_config

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=timezone.utc)
RU = {"UNPAID_LANG": "ru"}
UK = {"UNPAID_LANG": "uk"}


@pytest.fixture
def with_csv(monkeypatch):
    pytest.importorskip("unpaid_csv", reason="the demo serves its shop through the unpaid-csv plugin")
    monkeypatch.setenv("UNPAID_LOAD_PLUGINS", "csv")


# ---- the demo ----


def test_demo_tells_its_tour_in_russian(cli, with_csv, tmp_path):
    result = cli(["--now", NOW.isoformat(), "demo", "--dir", str(tmp_path / "shop")], env=RU)
    assert result.exit_code == 0, result.output
    err = result.stderr
    assert "== Демо-магазин: 400 заказов в " in err and "(источник `shop`, тип csv)" in err
    assert "== unpaid sync — загрузить заказы в базу" in err
    assert "оплаченные дубли и более старые дубли становятся ложными" in err
    assert "что требует работы сегодня: актуальные неоплаченные заказы, сначала новые" in err
    assert "актуальных неоплаченных заказ" in err and "требуют работы. Дальше, в " in err
    assert "# следующая страница" in err and "# всё, для скриптов" in err
    out = result.stdout
    assert "→ Ложный: оплаченный дубль shop:" in out
    assert "→ оставлен: оставлен новейший из 2 актуальных заказов — " in out
    assert "(оставлен новейший)" in out
    for english in ("A sample shop", "pull the orders", "need work", "paid twin", "kept the newest", "the next page"):
        assert english not in result.output


def test_demo_tells_its_tour_in_ukrainian(cli, with_csv, tmp_path):
    result = cli(["--now", NOW.isoformat(), "demo", "--dir", str(tmp_path / "shop")], env=UK)
    assert result.exit_code == 0, result.output
    err = result.stderr
    assert "== Демо-магазин: 400 замовлень в " in err and "(джерело `shop`, тип csv)" in err
    assert "== unpaid sync — завантажити замовлення в базу" in err
    assert "потребують роботи. Далі, у " in err
    assert "# наступна сторінка" in err
    assert "→ Хибний: оплачений дубль shop:" in result.stdout
    assert "залишено найновіше з 3 актуальних замовлень" in result.stdout


def test_the_demos_answer_for_scripts_stays_english(cli, with_csv, tmp_path):
    result = cli(["--now", NOW.isoformat(), "demo", "--dir", str(tmp_path / "shop"), "--format", "json"], env=RU)
    assert result.exit_code == 0, result.output
    assert set(result.json()) >= {"folder", "config", "db", "actual_unpaid", "newest", "exit"}
    assert "A sample shop" in result.stderr  # JSON asked for: the invocation speaks English


# ---- doctor ----


def test_doctor_in_russian(cli, with_csv, tmp_path, cli_db):
    assert cli("init --language ru").exit_code == 0
    (tmp_path / "orders.csv").write_text("id,status\n", encoding="utf-8")
    result = cli("doctor", env=RU)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.splitlines()[0].split()[:4] == ["проверка", "результат", "подробности", "как", ][:4]
    assert "unpaid.toml: 1 источник" in out
    assert "загружено: 1 (csv); типы коннекторов: csv" in out
    assert "настройки в порядке; секреты: не нужны" in out
    assert "не проверялось" in out and "запустите `unpaid doctor --online`, чтобы обратиться к источнику" in out
    if cli_db.startswith("postgresql://"):  # the test's database exists, migrated
        assert "общая для всех машин с этими настройками" in out
    else:
        assert "ещё не существует; его создаст первый `unpaid sync`" in out
    assert "проверок — ошибок нет" in result.stderr


def test_doctor_without_a_config_says_so_in_ukrainian(cli):
    result = cli("doctor", env=UK)
    assert result.exit_code == 2
    assert "немає unpaid.toml ні в цій теці, ні в теці налаштувань користувача" in result.stdout
    assert "створіть його командою `unpaid init` або вкажіть --config FILE" in result.stdout
    assert "не пройдено 1 з " in result.stderr


def test_doctor_json_stays_english_whatever_the_language(cli):
    result = cli("doctor --format json", env=RU)
    checks = {c["name"]: c for c in result.json()}
    assert checks["config"]["detail"] == "no unpaid.toml in this folder or the user config dir"


# ---- help and usage errors ----


@pytest.mark.parametrize("env, words", [
    (RU, ["Использование: unpaid [OPTIONS] COMMAND [ARGS]...", "превращает неоплаченные заказы в оплаченные",
          "Параметры:", "Команды:", "Показать эту справку и выйти.", "Создать демо-магазин",
          "Проверить настройки, ключи, базу и связь.", "Примеры:", "unpaid demo                      # демо-магазин",
          "Плагины могут добавлять свои команды"]),
    (UK, ["Використання: unpaid [OPTIONS] COMMAND [ARGS]...", "перетворює неоплачені замовлення на оплачені",
          "Параметри:", "Команди:", "Показати цю довідку та вийти.", "Створити демо-магазин",
          "Перевірити налаштування, ключі, базу та зв'язок.", "Приклади:"]),
])
def test_root_help(cli, env, words):
    result = cli("--help", env=env)
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())  # click wraps the lines
    for word in words:
        assert " ".join(word.split()) in text, word
    assert "Show this message and exit." not in text


@pytest.mark.parametrize("env, words", [
    (RU, ["Использование: unpaid init [OPTIONS] [PATH]", "Создать начальный unpaid.toml с комментариями в PATH",
          "Язык магазина, записывается как `language`", "Перезаписать существующий файл."]),
    (UK, ["Використання: unpaid init [OPTIONS] [PATH]", "Мова магазину, записується як `language`",
          "Перезаписати наявний файл."]),
])
def test_command_help(cli, env, words):
    result = cli("init --help", env=env)
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for word in words:
        assert word in text, word


@pytest.mark.parametrize("args, env, lines", [
    ("orders --xyzzy", RU, ["Использование: unpaid orders [OPTIONS]", "Справка: 'unpaid orders --help'.",
                            "Ошибка: Нет такого параметра: '--xyzzy'."]),
    ("orders --xyzzy", UK, ["Використання: unpaid orders [OPTIONS]", "Довідка: 'unpaid orders --help'.",
                            "Помилка: Немає такого параметра: '--xyzzy'."]),
    ("auth set", RU, ["Ошибка: Не указан аргумент 'SOURCE'."]),
    ("auth set", UK, ["Помилка: Не вказано аргумент 'SOURCE'."]),
    ("ordrs", RU, ["Ошибка: Нет такой команды: 'ordrs'."]),
    ("orders --limit 0", UK, ["Помилка: Неприпустиме значення '--limit': 0 поза діапазоном 1<=x<=1000000."]),
])
def test_usage_errors(cli, args, env, lines):
    result = cli(args, env=env)
    assert result.exit_code == 2
    for line in lines:
        assert line in result.stderr.splitlines(), result.stderr


def test_an_error_line_speaks_the_language(cli, tmp_path):
    (tmp_path / "unpaid.toml").write_text("# mine\n", encoding="utf-8")
    result = cli("init", env=RU)
    assert result.exit_code == 2
    assert result.stderr.strip() == ("Ошибка: unpaid.toml уже существует — отредактируйте его или "
                                     "укажите --force, чтобы заменить начальным")


# ---- init writes the language ----


def test_init_writes_the_language_given(cli, tmp_path):
    result = cli("init --language uk")
    assert result.exit_code == 0, result.output
    assert parse_config(tmp_path / "unpaid.toml").language == "uk"
    assert 'language = "uk"' in (tmp_path / "unpaid.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize("env, language", [
    ({"UNPAID_LANG": "ru"}, "ru"),
    ({"UNPAID_LANG": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "uk_UA.UTF-8"}, "uk"),
    ({"UNPAID_LANG": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "C.UTF-8"}, "en"),
])
def test_init_without_a_terminal_writes_the_detected_language(cli, tmp_path, env, language):
    result = cli("init --format json", env=env)
    assert result.exit_code == 0, result.output
    assert result.json()["language"] == language
    assert parse_config(tmp_path / "unpaid.toml").language == language


def test_init_says_what_it_wrote_in_the_language(cli, tmp_path):
    result = cli("init", env=RU)
    assert result.exit_code == 0
    assert "записан unpaid.toml — укажите путь в [sources.shop]" in result.stderr
    assert parse_config(tmp_path / "unpaid.toml").language == "ru"


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_init_in_a_terminal_asks_for_the_language(monkeypatch, capsys):
    from unpaid.cli import admin
    from unpaid.i18n import speaking

    monkeypatch.setenv("UNPAID_LANG", "ru")
    monkeypatch.setattr("sys.stdin", _Terminal("uk\n"))
    with speaking("ru"):
        assert admin._starter_language() == "uk"
    assert "Язык магазина (en, ru, uk) [ru]:" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", _Terminal("\n"))
    assert admin._starter_language() == "ru"  # Enter keeps the detected one


def test_help_in_one_language_then_another_in_the_same_process(cli):
    assert "Показать эту справку и выйти." in cli("init --help", env=RU).stdout
    english = cli("init --help").stdout
    assert "Show this message and exit." in english and "Показать" not in english
    assert "Показать версию и выйти." in cli("--help", env=RU).stdout
    assert "Show the version and exit." in cli("--help").stdout


def test_a_command_in_russian_leaves_the_process_speaking_as_before(cli):
    from unpaid.i18n import _, active

    assert cli("--help", env=RU).exit_code == 0
    assert active() == "en" and _("Error: {message}") == "Error: {message}"
