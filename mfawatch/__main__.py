from mfawatch.cli import main

main()
