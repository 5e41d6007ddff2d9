"""`python -m nyctaxi.jobs <job> --service … [options]`; spark-submit runs this file (see
`nyctaxi.sparkconf.submit_plan`)."""

import sys

from nyctaxi.jobs import main

if __name__ == "__main__":
    sys.exit(main())
