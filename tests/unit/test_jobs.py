"""The job registry's two entry points agree: the CLI (typer, which passes an option left out as
None) and spark-submit's command line (argparse) give a job the same options."""

import pytest

from nyctaxi.jobs import JOBS

GIVEN = {"month": "2025-01", "train_months": "2025-01", "eval_month": "2025-02", "reference": "champion",
         "current": "2025-02"}  # fmt: skip


@pytest.mark.parametrize("name", sorted(JOBS))
def test_left_out_options_take_their_defaults_from_either_entry_point(name):
    job = JOBS[name]
    required = {o.name: GIVEN[o.name] for o in job.options if o.required}
    argv = ["--service", "green", *[f"--{k.replace('_', '-')}={v}" for k, v in required.items()]]
    _, submitted = job.parse(argv)
    from_cli = job.typed({**{o.name: None for o in job.options}, **required})
    assert from_cli == submitted
    assert all(from_cli[o.name] == o.default for o in job.options if not o.required and not o.flag)


def test_train_without_a_sample_fraction_trains_on_every_row():
    options = JOBS["train"].typed(
        {"train_months": "2025-01", "eval_month": "2025-02", "sample_fraction": None}
    )
    assert options["sample_fraction"] == 1.0 and options["seed"] == 42
