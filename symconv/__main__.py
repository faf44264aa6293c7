from symconv.cli import main

raise SystemExit(main())
