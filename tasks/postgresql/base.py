from django.db.backends.postgresql import base

from tasks.database_outage import gate

NOT_CONNECTING = "Not connecting: the database could not be reached just now"


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        this_gate = gate(self.alias)
        if not this_gate.may_connect():
            # Django turns it into its own OperationalError: a 503, or an
            # older page from the cache, at once.
            raise self.Database.OperationalError(NOT_CONNECTING)
        try:
            connection = super().get_new_connection(conn_params)
        except self.Database.OperationalError as error:
            this_gate.failed(self._probe(conn_params), error)
            raise
        this_gate.connected()
        return connection

    def is_usable(self):
        # Django asks before reusing a connection (CONN_HEALTH_CHECKS), and
        # after a request whose queries failed.
        usable = super().is_usable()
        if not usable:
            gate(self.alias).broke(self._probe(self.get_connection_params()))
        return usable

    def _probe(self, conn_params):
        """A connection made and closed, outside Django: the gate's probe."""
        return lambda: self.Database.connect(**conn_params).close()
