"""`python -m ztbundle`."""

from ztbundle._entry import main

main()
