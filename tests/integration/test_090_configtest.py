"""The server's config test (`nginx -t`, `apache2 -t`) reports mistakes in
the YAML at config-test time, naming the file and the line or key, and exits
non-zero."""

import re

import pytest


def configtest(server_class, workdir, pki, name, yaml_text, locations=None):
    """Writes yaml_text beside the real config (so relative paths resolve the
    same) and runs the server's config test on a private prefix that uses
    it."""
    yaml_path = pki.config.parent / f"broken-{name}.yaml"
    yaml_path.write_text(yaml_text)
    n = server_class(workdir / f"configtest-{name}", yaml_path, locations=locations,
                     gated=False)
    p = n.config_test()
    return yaml_path, p.returncode, p.stdout + p.stderr


def insert_after(text, anchor_regex, new_line):
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(anchor_regex, line):
            lines.insert(i + 1, new_line)
            return "\n".join(lines) + "\n", i + 2  # 1-based line of new_line
    raise AssertionError(f"no line matching {anchor_regex!r}")


def test_090_001_good_config_passes(server_class, workdir, pki):
    _, rc, out = configtest(server_class, workdir, pki, "none", pki.config.read_text())
    assert rc == 0, out
    assert server_class.CONFIG_TEST_OK in out, out


def test_090_002_yaml_syntax_error(server_class, workdir, pki):
    text, line = insert_after(pki.config.read_text(), r"^store:", "  busy_timeout_ms: [5000")
    path, rc, out = configtest(server_class, workdir, pki, "syntax", text)
    assert rc != 0, out
    assert path.name in out, f"the message does not name {path}:\n{out}"
    # the server's own position in its configuration file ("on line 27 of
    # httpd.conf") is not the YAML's line
    core = server_class.OWN_POSITION.sub("", out)
    numbers = [int(n) for n in re.findall(rf"{re.escape(path.name)}:(\d+)", core)]
    numbers += [int(n) for n in re.findall(r"line (\d+)", core)]
    assert numbers, f"no line number in:\n{out}"
    # yaml-cpp may point at the opening bracket's line or where it noticed
    assert any(abs(n - line) <= 3 for n in numbers), f"line {line} expected near:\n{out}"


def test_090_003_unknown_key(server_class, workdir, pki):
    text = pki.config.read_text() + "\nbogus_setting: 42\n"
    path, rc, out = configtest(server_class, workdir, pki, "unknown-key", text)
    assert rc != 0, out
    assert path.name in out, out
    assert "bogus_setting" in out, out


def test_090_004_unknown_nested_key(server_class, workdir, pki):
    text, _ = insert_after(pki.config.read_text(), r"^store:", "  sqlite_pragmas: fast")
    path, rc, out = configtest(server_class, workdir, pki, "unknown-nested-key", text)
    assert rc != 0, out
    assert path.name in out and "sqlite_pragmas" in out, out


def test_090_005_missing_key_file(server_class, workdir, pki):
    text = pki.config.read_text()
    assert re.search(r"^\s+key: ca\.key\s*$", text, re.M), text
    text = re.sub(r"^(\s+)key: ca\.key\s*$", r"\1key: no-such-ca.key", text, count=1, flags=re.M)
    path, rc, out = configtest(server_class, workdir, pki, "missing-key-file", text)
    assert rc != 0, out
    assert path.name in out, out
    assert "no-such-ca.key" in out, out


def test_090_006_unknown_profile_in_location(server_class, workdir, pki):
    _, rc, out = configtest(server_class, workdir, pki, "unknown-profile",
                            pki.config.read_text(), locations=[("/scep", "no_such_profile")])
    assert rc != 0, out
    assert "no_such_profile" in out, out


@pytest.mark.parametrize("value", ["[des3, rot13]"])
def test_090_007_bad_cipher_list(server_class, workdir, pki, value):
    text = re.sub(r"^(\s+ciphers:).*$", rf"\1 {value}", pki.config.read_text(), count=1, flags=re.M)
    path, rc, out = configtest(server_class, workdir, pki, "ciphers-" + str(len(value)), text)
    assert rc != 0, out
    assert path.name in out and "ciphers" in out, out


def config_test_of_missing_file(server_class, workdir, pki):
    n = server_class(workdir / "configtest-unreadable", pki.config.parent / "no-such.yaml", gated=False)
    p = n.config_test()
    return p.returncode, p.stdout + p.stderr


@pytest.mark.parametrize("mistake", ["duplicate-key", "over-indented", "unreadable-file"])
def test_090_008_new_users_mistakes_say_what_and_where(server_class, workdir, pki, mistake):
    """What a new user gets wrong first: a key given twice, one line indented
    too far (yaml-cpp notices it a line late), a file the server cannot read."""
    if mistake == "unreadable-file":
        rc, out = config_test_of_missing_file(server_class, workdir, pki)
        want = "no-such.yaml: cannot open the configuration file: No such file or directory"
    else:
        indent = "  " if mistake == "duplicate-key" else "     "
        text, line = insert_after(pki.config.read_text(), r"^crl:", f"{indent}refresh_hours: 12")
        _, rc, out = configtest(server_class, workdir, pki, mistake, text)
        want = (rf"key 'crl.refresh_hours': is given twice \(first on line {line}\)" if mistake == "duplicate-key"
                else rf":{line + 1}: YAML syntax error: .*\(line {line} is indented 5 spaces, line {line + 1} 2")
    assert rc != 0, out
    assert re.search(want, out), f"{want!r} not in:\n{out}"
