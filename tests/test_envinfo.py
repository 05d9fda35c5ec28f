import json

from artifact import envinfo


def test_collect_has_what_a_reader_needs(tmp_path):
    env = envinfo.collect(scale="smoke", seed=3)
    assert env["cpu_cores"] >= 1 and env["ram_gib"] > 0 and env["cpu_model"]
    assert env["packages"]["torch"] and env["python"].count(".") == 2
    assert env["scale"] == "smoke" and env["seed"] == 3
    assert len(env["git"]["commit"] or "") in (0, 40)
    assert env["hardware"].startswith("CPU: ")
    written = json.loads(envinfo.write_env(tmp_path, scale="quick").read_text())
    assert written["scale"] == "quick"


def test_hardware_label_mentions_gpu_when_given():
    assert envinfo.hardware_label(gpu={"name": "NVIDIA H100"}).endswith("GPU: NVIDIA H100")
    assert envinfo.hardware_label(gpu=None).endswith("no GPU")
