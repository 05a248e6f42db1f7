from unpaid.secrets import MASK, delete_secret, env_var, get_secret, redact, remember, set_secret


def test_env_var_name():
    assert env_var("school-1", "secret_key") == "UNPAID_SECRET_SCHOOL_1_SECRET_KEY"


def test_env_overrides_keyring(memory_keyring, monkeypatch):
    set_secret("shop", "api_key", "from-keyring-123")
    assert get_secret("shop", "api_key") == "from-keyring-123"
    monkeypatch.setenv("UNPAID_SECRET_SHOP_API_KEY", "from-env-456")
    assert get_secret("shop", "api_key") == "from-env-456"
    monkeypatch.delenv("UNPAID_SECRET_SHOP_API_KEY")
    assert delete_secret("shop", "api_key")
    assert get_secret("shop", "api_key") is None
    assert not delete_secret("shop", "api_key")


def test_secrets_are_stored_in_the_test_keyring_file_only(memory_keyring):
    set_secret("shop", "api_key", "value-xyz")
    assert "value-xyz" in memory_keyring.read_text()


def test_redact_blanks_known_values_query_keys_and_bearer_tokens():
    remember("abcd1234secret")
    text = redact("GET https://x.getcourse.ru/pl/api/account/deals?key=QWERTY&status=new "
                  "Authorization: Bearer dev_school failed abcd1234secret")
    assert "QWERTY" not in text and "dev_school" not in text and "abcd1234secret" not in text
    assert f"key={MASK}&status=new" in text
