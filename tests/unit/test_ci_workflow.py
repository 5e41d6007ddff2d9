"""The CI/CD workflow: valid for GitHub Actions (actionlint), and its test step is the README's."""

from __future__ import annotations

import re
import subprocess

import yaml

from tests.conftest import PROJECT_ROOT

WORKFLOW = PROJECT_ROOT / ".github" / "workflows" / "ci.yml"
ACTIONLINT = PROJECT_ROOT / "jars" / "tools" / "bin" / "actionlint"


def readme_commands() -> dict[str, str]:
    """The README's first code block: `make X   # what it does` lines, by target."""
    block = re.search(r"```bash\n(.*?)```", (PROJECT_ROOT / "README.md").read_text(), re.S).group(1)
    return {line.split()[1]: line.split("#")[0].strip() for line in block.splitlines() if line.strip()}


def test_actionlint_accepts_the_workflow():
    done = subprocess.run([str(ACTIONLINT), "-no-color", str(WORKFLOW)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_test_step_runs_the_readmes_test_command_and_ci_run_does_too():
    command = readme_commands()["test"]
    assert command == "make test"
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["test"]["steps"]
    runs = [step["run"] for step in steps if "run" in step]
    assert any(re.search(rf"(^|\s){re.escape(command)}$", run.strip()) for run in runs), runs
    assert command in (PROJECT_ROOT / ".ci" / "run").read_text().splitlines()
    # a version tag builds and pushes the project image to GHCR, then drafts a release
    release = workflow["jobs"]["release"]
    assert release["if"] == "startsWith(github.ref, 'refs/tags/v')" and release["needs"] == "test"
    push = next(step for step in release["steps"] if step.get("uses", "").startswith("docker/build-push"))
    assert push["with"]["push"] is True and "ghcr.io/" in push["with"]["tags"]
    assert any(
        "gh release create" in step.get("run", "") and "--draft" in step["run"] for step in release["steps"]
    )
    # pushes of tags trigger the workflow ("on" is YAML 1.1's True)
    triggers = workflow.get("on", workflow.get(True))
    assert "v*" in triggers["push"]["tags"]
