"""`painzoo models`: the zoo as a table."""

from painzoo.cli import main
from painzoo.models.zoo import ZOO


def _rows(text):
    lines = text.strip().splitlines()
    header, rule, body = lines[0], lines[1], lines[2:]
    assert set(rule.replace(" ", "")) == {"-"}
    return header, {line.split()[0]: line.split() for line in body}


def test_models_lists_every_registered_model(capsys):
    assert main(["models"]) == 0
    header, rows = _rows(capsys.readouterr().out)
    assert header.split()[:2] == ["model", "input"]
    # painzoo's own zoo, networks and LBP baselines (other test modules may have
    # registered plug-ins in this process, which the table lists too)
    assert [n for n in rows if n in ZOO] == sorted(ZOO) and len(ZOO) == 13 + 6
    assert header.split()[-2:] == ["kind", "citation"]
    assert rows["lbp_svm_r3p8_16x16"][1] == "any" and "sklearn" in rows["lbp_svm_r3p8_16x16"]
    assert "keras" in rows["vgg16"] and "sklearn" not in rows["vgg16"]
    # SPEC §3 figures, written independently of the registry.
    assert rows["vgg16"][1:4] == ["224×224×3", "14,715,714", "14.7"]
    assert rows["weinet"][1:3] == ["64×64×3", "679,650"]
    assert rows["silnet"][1:3] == ["150×150×3", "184,849,986"]
    assert "imagenet" in rows["xception"]
    assert "imagenet" not in rows["alexnet"]


def test_models_pattern_and_tag(capsys):
    assert main(["models", "vgg*"]) == 0
    assert list(_rows(capsys.readouterr().out)[1]) == ["vgg16", "vgg19"]
    assert main(["models", "--tag", "imagenet"]) == 0
    assert set(_rows(capsys.readouterr().out)[1]) == {
        "vgg16",
        "vgg19",
        "resnet50",
        "resnet101v2",
        "inceptionv3",
        "xception",
    }


def test_models_kind(capsys):
    assert main(["models", "--kind", "sklearn"]) == 0
    p1_lbp = [f"lbp_svm_r{r}p8_{g}x{g}" for r in (1, 3) for g in (4, 8, 16)]
    assert sorted(_rows(capsys.readouterr().out)[1]) == sorted(p1_lbp)
    assert main(["models", "lbp*", "--kind", "keras"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[2:] == []
    assert main(["models", "lbp_svm_r1p8_4x4", "--count"]) == 0  # nothing to build: no count
    assert _rows(capsys.readouterr().out)[1]["lbp_svm_r1p8_4x4"][1:3] == ["any", "-"]


def test_models_count_builds_the_model(capsys):
    # WeiNet at 64×64: convolutions + Dense(64·64·64 -> 2), counted by hand.
    expected = (7 * 7 * 3 * 32 + 32) + (7 * 7 * 32 * 32 + 32) + (7 * 7 * 32 * 64 + 64)
    expected += (64 * 64 * 64 + 1) * 2
    assert main(["models", "weinet", "--count"]) == 0
    assert _rows(capsys.readouterr().out)[1]["weinet"][2] == f"{expected:,}"
