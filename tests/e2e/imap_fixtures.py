"""An IMAP-side instance for the IMAP tests: pop3_fixtures.Retrieval's
instance (passwd-file user alice/secret, Maildir, self-signed
certificate) with `protocols = imap pop3` and an imap-login service on
two free ports (imap with STARTTLS, imaps)."""
import os

from conftest import free_port
from pop3_fixtures import Retrieval, listening, wait_for


class ImapBox(Retrieval):
    def __init__(self, bindir, root, extra="", user="alice"):
        super().__init__(bindir, root, extra=extra, user=user)
        self.imap = free_port()
        self.imaps = free_port()
        with open(self.conf) as f:
            text = f.read()
        text = text.replace("protocols = pop3\n", "protocols = imap pop3\n")
        text += ("service imap-login {\n  inet_listener imap {\n    port = %d\n  }\n"
                 "  inet_listener imaps {\n    port = %d\n    ssl = yes\n  }\n}\n"
                 % (self.imap, self.imaps))
        with open(self.conf, "w") as f:
            f.write(text)

    def start(self):
        super().start()
        assert wait_for(lambda: listening(self.imap) and listening(self.imaps)), self.logtext()

    def folder(self, name):
        return os.path.join(self.maildir, "." + name)
