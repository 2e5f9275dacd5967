"""hwsim: the accelerator model (configs, PE and array timing, engine, energy).

Core hwsim never imports torch or the compiler IR: its inputs are an ``Arch`` and a ``Program``.
"""
