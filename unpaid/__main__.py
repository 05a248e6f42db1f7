from unpaid.cli import main

main()
