"""Where a demo builder writes its progress: the command's stdout, or nowhere (quiet)."""


class Writer:
    def __init__(self, stdout):
        self.stdout = stdout

    def __call__(self, message: str) -> None:
        if self.stdout is not None:
            self.stdout.write(message)
