from pair_lsp.cli import main

raise SystemExit(main())
