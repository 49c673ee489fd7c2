"""The Chinese interface: JupyterLab's zh-CN language pack is installed, and a student can switch to it."""
import re
from importlib.metadata import version

from e2e.lab import menu, shot


def test_language_pack_is_installed_and_offered(lab):
    assert version("jupyterlab-language-pack-zh-cn")
    status, languages, _ = lab.api("GET", "lab/api/translations")
    assert status == 200 and "zh_CN" in languages["data"], languages


def test_switch_the_interface_to_chinese(page, lab):
    page.goto(lab.url("lab"))
    page.locator(".jp-DirListing-item").first.wait_for()
    menu(page, "Settings", "Language", "Chinese (Simplified, China) - 中文 (简体, 中国)")
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_role("button", name="Change and reload").click()  # JupyterLab reloads the page in Chinese

    labels = page.locator(".lm-MenuBar-itemLabel")
    labels.filter(has_text=re.compile("^文件$")).wait_for()
    assert {"文件", "编辑", "运行", "内核", "设置", "帮助"} <= set(labels.all_text_contents())
    page.locator(".jp-DirListing-item").first.wait_for()
    shot(page, "language-1-chinese-interface")

    status, settings, _ = lab.api("GET", "lab/api/settings/@jupyterlab/translation-extension:plugin")
    assert settings["settings"]["locale"] == "zh_CN"  # kept in this server's per-user settings, not the tester's
