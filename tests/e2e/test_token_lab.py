"""`make lab` requires its token: without it the API refuses and the lab page sends the browser to the login page."""
from e2e.lab import shot


def test_api_refuses_requests_without_the_token(lab):
    status, _, _ = lab.api("GET", "api/contents", token=False)
    assert status == 403
    status, _, _ = lab.api("GET", "api/contents?token=not-the-token", token=False)
    assert status == 403
    status, listing, _ = lab.api("GET", "api/contents")
    assert status == 200 and "release" in {item["name"] for item in listing["content"]}


def test_lab_page_without_the_token_redirects_to_login(page, lab):
    status, _, headers = lab.api("GET", "lab", token=False)
    assert status == 302 and headers["Location"].startswith("/login")

    page.goto(lab.url("lab", token=False))
    assert page.url.startswith(lab.url("login", token=False))
    password = page.get_by_role("textbox", name="Password or token:")
    password.wait_for()
    assert page.locator(".jp-LabShell").count() == 0, "no JupyterLab without the token"
    shot(page, "token-1-login-page-without-token")

    password.fill(lab.token)  # the token printed in the terminal opens it
    password.press("Enter")
    page.locator(".jp-DirListing-item").first.wait_for()
    shot(page, "token-2-lab-after-entering-the-token")
