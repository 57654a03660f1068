"""DMN decisions: reading and checking tables (`reading`, `cells`), evaluating them in the sandbox
(`evaluation`), running business rule tasks (`running`), deploying and versioning (`store`), and
trying a table against a real session (`bench`). Modules are imported where used: this package
offers no names of its own, so the BPMN parser can import `running` without the store."""
