"""The dashboard's home page, run headless with Streamlit's AppTest."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from conftest import ROOT


def test_home_page_creates_the_demo_and_shows_its_flow(tmp_path, monkeypatch):
    monkeypatch.setenv("DFE_WORKSPACE", str(tmp_path))
    app = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=120).run()
    assert not app.exception
    assert (tmp_path / "videos" / "demo.mp4").exists()
    assert any("demo video" in info.value for info in app.info)
    assert app.selectbox[0].value.name == "demo.mp4"
    assert "fps" in app.markdown[0].value
