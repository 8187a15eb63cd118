from django.db.backends.postgresql import base

from tasks.database_outage import gate


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        this_gate = gate(self.alias)
        if this_gate.is_down():
            # Django turns it into its own OperationalError: a 503, or an
            # older page from the cache, at once.
            raise self.Database.OperationalError("Not connecting: the database could not be reached just now")
        try:
            connection = super().get_new_connection(conn_params)
        except self.Database.OperationalError as error:
            this_gate.failed(lambda: self.Database.connect(**conn_params).close(), error)
            raise
        this_gate.connected()
        return connection
