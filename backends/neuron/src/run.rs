//! Walks the kernel body with real loop counters, re-checking every
//! instruction's rules for those counters before executing it.

use trnc_ir::kernel::{verify::stmt_path, verify_inst, Kernel, KernelError, LoopBounds, Stmt};
use trnc_ir::Target;

use crate::exec::Exec;
use crate::memory::Machine;

pub struct Runner<'a> {
    pub k: &'a Kernel,
    pub target: Target,
    pub m: Machine,
    loops: LoopBounds,
}

impl<'a> Runner<'a> {
    pub fn new(k: &'a Kernel, target: Target, m: Machine) -> Runner<'a> {
        Runner { k, target, m, loops: LoopBounds::new() }
    }

    pub fn run(&mut self) -> Result<(), KernelError> {
        let body = &self.k.body;
        self.run_body(body, "")
    }

    fn run_body(&mut self, body: &'a [Stmt], prefix: &str) -> Result<(), KernelError> {
        for (i, stmt) in body.iter().enumerate() {
            let path = stmt_path(prefix, i);
            match stmt {
                Stmt::Inst { inst, .. } => {
                    let err = |message: String| KernelError {
                        kernel: self.k.name.clone(),
                        path: path.clone(),
                        inst: Some(inst.nki_name().to_string()),
                        message,
                    };
                    verify_inst(self.k, self.target, inst, &self.loops).map_err(err)?;
                    let mut exec = Exec { target: self.target, m: &mut self.m, loops: &self.loops };
                    exec.run(inst).map_err(err)?;
                }
                Stmt::Loop { var, count, body } => {
                    for c in 0..*count {
                        let value = i64::try_from(c).unwrap_or(i64::MAX);
                        let pushed = self.loops.push_value(*var, value);
                        pushed.map_err(|message| KernelError {
                            kernel: self.k.name.clone(),
                            path: path.clone(),
                            inst: None,
                            message,
                        })?;
                        let inner = format!("{path}.loop i{}={c} ", var.0);
                        let result = self.run_body(body, &inner);
                        self.loops.pop();
                        result?;
                    }
                }
            }
        }
        Ok(())
    }
}
