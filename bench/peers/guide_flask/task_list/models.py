from task_list import db

class Task(db.Model):
    # bench: the app's table (tasks/models.py), so that both read the same
    # rows. The guide's table was "task", with only id and name; ours also
    # requires created_at and updated_at: filled here on insert, so that the
    # guide's "Add Task" works on it too.
    __tablename__ = 'tasks_task'
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.Text(), nullable=False)
    created_at = db.Column(db.DateTime(timezone=True), nullable=False, default=db.func.now())
    updated_at = db.Column(db.DateTime(timezone=True), nullable=False, default=db.func.now())

    def __repr__(self):
        return '<Task: {}>'.format(self.name)
