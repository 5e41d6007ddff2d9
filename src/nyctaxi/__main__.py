"""`python -m nyctaxi …` is the `nyctaxi` command."""

from nyctaxi.cli import main

if __name__ == "__main__":
    main()
