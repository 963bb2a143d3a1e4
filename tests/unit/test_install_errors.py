"""Messages of failed installs and builds, from logs as the package managers write them."""

from __future__ import annotations

from tinirun.runner.install_errors import build_failure, install_failure, manager_words

OURS = ("Step 4/7 : RUN if ( export SSL_CERT_FILE=/tmp/tinirun-ca.crt; pip install "
        "--no-cache-dir no-such-package-xyz-123 ); then rm -f /tmp/x; fi\n"
        " ---> Running in a624040c47e7\n")
THE_COMMAND = ("Removing intermediate container a624040c47e7\n"
               "The command '/bin/sh -c if ( export SSL_CERT_FILE=/tmp/tinirun-ca.crt; pip "
               "install no-such-package-xyz-123 ); then :; fi' returned a non-zero code: 1\n")

PIP = OURS + (
    "ERROR: Could not find a version that satisfies the requirement no-such-package-xyz-123 "
    "(from versions: none)\n"
    "ERROR: No matching distribution found for no-such-package-xyz-123\n") + THE_COMMAND
NPM = OURS + (
    "npm error code E404\n"
    "npm error 404 Not Found - GET https://registry.example/no-such-package-xyz-123 - Not found\n"
    "npm error 404\n"
    "npm error 404  'no-such-package-xyz-123@*' is not in this registry.\n"
    "npm error 404\n"
    "npm error 404 Note that you can also install from a\n"
    "npm error A complete log of this run can be found in: /root/.npm/_logs/x.log\n"
) + THE_COMMAND
APT = OURS + ("Reading package lists...\nBuilding dependency tree...\n"
              "E: Unable to locate package no-such-package-xyz-123\n") + THE_COMMAND
GO = OURS + ("go: downloading example.com/m v1.0.0\n"
             "go: module example.com/nosuch: reading https://proxy.example/@v/list: 404 Not "
             "Found\n") + THE_COMMAND
CARGO = OURS + ("    Updating `index.example` index\n"
                "warning: spurious network error (1 tries remaining): [6] Could not resolve\n"
                "error: download of config.json failed\n\nCaused by:\n"
                "  failed to download from `https://index.example/config.json`\n\n"
                "Caused by:\n  [6] Could not resolve hostname (Could not resolve host: "
                "index.example)\n") + THE_COMMAND


def test_pip_says_no_matching_distribution_first() -> None:
    message = install_failure("pip", PIP, "builder's")
    assert message.startswith("No matching distribution found for no-such-package-xyz-123")
    assert message.endswith("(pip could not install the dependencies)")


def test_each_manager_in_its_own_words() -> None:
    assert manager_words("npm", NPM) == "404 'no-such-package-xyz-123@*' is not in this registry."
    assert manager_words("apt", APT) == "Unable to locate package no-such-package-xyz-123"
    assert manager_words("go", GO) == ("module example.com/nosuch: reading "
                                       "https://proxy.example/@v/list: 404 Not Found")
    assert manager_words("cargo", CARGO) == (
        "download of config.json failed: [6] Could not resolve hostname (Could not resolve "
        "host: index.example)")


def test_our_commands_never_appear() -> None:
    for manager, log in (("pip", PIP), ("npm", NPM), ("apt", APT), ("go", GO),
                         ("cargo", CARGO), ("pip", OURS + THE_COMMAND), ("mystery", NPM)):
        message = install_failure(manager, log, "Installing dependencies failed")
        assert "/bin/sh" not in message and "SSL_CERT_FILE" not in message, message
        assert "pip install" not in message and "Step 4/7" not in message, message


def test_an_unknown_manager_or_a_silent_log_keeps_the_builders_message() -> None:
    assert install_failure("mystery", "fetching\nerror: it broke\n", "x").startswith("it broke")
    timed_out = "Installing dependencies timed out after 300 s (RUNNER_BUILD_TIMEOUT)"
    assert install_failure("pip", "Collecting numpy\n", timed_out) == timed_out
    assert install_failure("pip", "", "no output") == "no output"


def test_a_function_build_names_the_compilers_first_error() -> None:
    rust = ("error[E0425]: cannot find value `x` in this scope\n --> function.rs:2:5\n"
            "error: could not compile `snippet` (bin \"snippet\") due to 1 previous error\n"
            + THE_COMMAND)
    assert build_failure(rust, "x") == ("The function did not build: [E0425]: cannot find value "
                                   "`x` in this scope")
    assert build_failure("# main\n./function.go:4:2: undefined: y\n", "theirs") == "theirs"
