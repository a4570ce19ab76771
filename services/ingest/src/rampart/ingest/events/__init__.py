"""Events: their models, where they are written (``store``, ``writer``), read and changed
(``service``), their routes, and the change requests and SLA breaches that arrive by bus."""
