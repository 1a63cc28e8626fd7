import sys

from hf_replearn.cli import main

sys.exit(main())
