"""The README's configuration reference names every setting the code reads."""

from pathlib import Path

from pydantic import BaseModel

from seatgate.settings import ProductSettings, ProxySettings, Settings, WorkerSettings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_is_documented():
    missing = []
    for model in (Settings, ProxySettings, WorkerSettings, ProductSettings):
        for name, field in model.model_fields.items():
            if isinstance(field.default, BaseModel) or name == "products":
                continue
            if f"`{name}`" not in README and f"{name}`" not in README and f"`{name}," not in README:
                missing.append(f"{model.__name__}.{name}")
    assert not missing, f"not in README.md: {missing}"


def test_quickstart_has_the_two_commands():
    quickstart = README.split("## Quickstart", 1)[1].split("##", 1)[0]
    assert "scripts/demo.sh" in quickstart and "scripts/test.sh" in quickstart
