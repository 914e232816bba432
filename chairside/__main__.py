from chairside.cli import main

raise SystemExit(main())
