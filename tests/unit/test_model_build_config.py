from pathlib import Path

import pytest

from model_build.config import ConfigError, load_config

CONFIGS = Path(__file__).resolve().parents[2] / "model_build" / "configs"


@pytest.mark.parametrize("profile", ["quick", "full", "tiny"])
def test_shipped_profiles_load(profile: str) -> None:
    cfg = load_config(CONFIGS / f"{profile}.toml")
    assert cfg.name == profile
    assert {"davidson", "civil_toxic_spans", "stormfront"} <= {s.format for s in cfg.data.sets}
    assert all(Path(s.path).is_absolute() for s in cfg.data.sets)
    # Profiles read the repository's copy of the data: a clone and the cloud build have no ../shared.
    assert all(Path(s.path).is_relative_to(CONFIGS.parents[1] / "data") and Path(s.path).is_dir()
               for s in cfg.data.sets)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


BASE = 'name = "t"\n[[data.sets]]\nname = "d"\nformat = "davidson"\npath = "/x"\n'


def test_unknown_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown key\(s\) in student: \['layerz'\]"):
        load_config(write(tmp_path, BASE + "[student]\nlayerz = [0]\n"))


def test_wrong_type_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="student.num_layers must be int"):
        load_config(write(tmp_path, BASE + '[student]\nnum_layers = "two"\n'))
    with pytest.raises(ConfigError, match="data.split_seed must be int"):  # an optional key is still typed
        load_config(write(tmp_path, BASE), {"data.split_seed": "13"})
    assert load_config(write(tmp_path, BASE), {"data.split_seed": 13}).data.split_seed == 13


def test_out_of_range_and_inconsistent_values(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="alpha"):
        load_config(write(tmp_path, BASE + "[student]\nalpha = 1.5\n"))
    with pytest.raises(ConfigError, match="exactly student.num_layers"):
        load_config(write(tmp_path, BASE + "[student]\nnum_layers = 2\nlayers = [0]\n"))
    with pytest.raises(ConfigError, match="positive_weight.hat: must name one of"):
        load_config(write(tmp_path, BASE + "[data.positive_weight]\nhat = 4.0\n"))
    with pytest.raises(ConfigError, match="identity_balance must be in"):
        load_config(write(tmp_path, BASE.replace('"t"\n', '"t"\n[data]\nidentity_balance = 1.5\n')))
    with pytest.raises(ConfigError, match="identity_hateful_rate must be in"):
        load_config(write(tmp_path, BASE.replace('"t"\n', '"t"\n[data]\nidentity_hateful_rate = -0.1\n')))
    with pytest.raises(ConfigError, match="format must be one of"):
        load_config(write(tmp_path, BASE.replace("davidson", "tweets")))
    with pytest.raises(ConfigError, match="must be an s3:// URI"):
        load_config(write(tmp_path, BASE + '[publish]\nartifact_uri = "/tmp/models"\n'))
    with pytest.raises(ConfigError, match="model_package_group needs publish.artifact_uri"):
        load_config(write(tmp_path, BASE + '[publish]\nmodel_package_group = "decorum"\n'))


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(write(tmp_path, "name = \n"))


def test_overrides_and_relative_paths(tmp_path: Path) -> None:
    text = 'cache_dir = "cache"\n' + BASE.replace('"/x"', '"data/d"')
    cfg = load_config(write(tmp_path, text), {"student.train.max_steps": 7})
    assert cfg.student.train.max_steps == 7
    assert cfg.data.sets[0].path == str(tmp_path / "data" / "d")
    assert cfg.cache_dir == str(tmp_path / "cache")  # not the caller's working directory
