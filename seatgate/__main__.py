from seatgate.cli import main

raise SystemExit(main())
