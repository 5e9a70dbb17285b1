//! Task graphs: topological order, cycles, ancestry.
//!
//! Nodes are indices `0..n`; `deps[i]` lists the nodes `i` depends on.

use std::collections::VecDeque;

/// A topological order (dependencies first); among ready nodes the lowest
/// index goes first, so file order is kept where the graph allows. On a cycle,
/// returns one cycle as a node list whose first node is repeated at the end.
pub fn topo_order(deps: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    let n = deps.len();
    let mut indegree = vec![0usize; n];
    let mut dependents = vec![Vec::new(); n];
    for (node, ds) in deps.iter().enumerate() {
        for &d in ds {
            indegree[node] += 1;
            dependents[d].push(node);
        }
    }
    // A binary heap would be O(n log n); a sorted ready set via BTreeSet keeps
    // the "lowest index first" rule simple.
    let mut ready: std::collections::BTreeSet<usize> =
        (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(node) = ready.pop_first() {
        order.push(node);
        for &next in &dependents[node] {
            indegree[next] -= 1;
            if indegree[next] == 0 {
                ready.insert(next);
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    Err(find_cycle(deps, &indegree))
}

/// Walks dependency edges among the nodes left with a positive in-degree
/// (every one of them lies on or behind a cycle) until a node repeats.
fn find_cycle(deps: &[Vec<usize>], indegree: &[usize]) -> Vec<usize> {
    let Some(start) = (0..deps.len()).find(|&i| indegree[i] > 0) else {
        return Vec::new();
    };
    let mut seen_at = vec![usize::MAX; deps.len()];
    let mut path = Vec::new();
    let mut node = start;
    while seen_at[node] == usize::MAX {
        seen_at[node] = path.len();
        path.push(node);
        // A node left over has at least one dependency also left over.
        node = match deps[node].iter().find(|&&d| indegree[d] > 0) {
            Some(&d) => d,
            None => return path,
        };
    }
    let mut cycle = path[seen_at[node]..].to_vec();
    // Edges point from a task to what it depends on; show the cycle in the
    // direction work flows (dependency first), from its earliest node.
    cycle.reverse();
    if let Some(first) = (0..cycle.len()).min_by_key(|&i| cycle[i]) {
        cycle.rotate_left(first);
    }
    cycle.push(cycle[0]);
    cycle
}

/// Every node reachable from `start` along `edges` (not `start` itself).
pub fn reachable(edges: &[Vec<usize>], start: usize) -> Vec<bool> {
    let mut seen = vec![false; edges.len()];
    let mut stack: Vec<usize> = edges[start].clone();
    while let Some(n) = stack.pop() {
        if !seen[n] {
            seen[n] = true;
            stack.extend(edges[n].iter().copied());
        }
    }
    seen
}

/// Whether `node` depends on `upstream`, directly or not. Direct
/// dependencies are checked first, as templates mostly name those; otherwise
/// a search walks up from `node` and stops as soon as it finds `upstream`.
pub fn depends_on(deps: &[Vec<usize>], node: usize, upstream: usize) -> bool {
    if deps[node].contains(&upstream) {
        return true;
    }
    let mut seen = vec![false; deps.len()];
    let mut queue: VecDeque<usize> = deps[node].iter().copied().collect();
    while let Some(n) = queue.pop_front() {
        if n == upstream {
            return true;
        }
        if !seen[n] {
            seen[n] = true;
            queue.extend(deps[n].iter().copied());
        }
    }
    false
}

/// Answers "is `upstream` an ancestor of `node`?" for many pairs of one
/// acyclic graph, each in a bounded number of steps.
///
/// Steps per question: a direct dependency (binary search) is yes; a node
/// that comes later in the topological order than `node` is no; then a
/// search up from `node` that never looks at nodes before `upstream` in the
/// order (they cannot lie between the two), for at most `LOCAL_STEPS`
/// nodes; failing that, the set of everything downstream of `upstream`,
/// found once and kept. Those sets draw on a budget; once it is spent the
/// answer is `None` (unknown), so a hostile file costs bounded work.
pub struct Ancestry<'d> {
    deps: &'d [Vec<usize>],
    dependents: Vec<Vec<usize>>,
    sorted_deps: Vec<Vec<usize>>,
    position: Vec<usize>,
    downstream: std::collections::HashMap<usize, Vec<u64>>,
    seen: Vec<u32>,
    epoch: u32,
    budget: usize,
}

impl<'d> Ancestry<'d> {
    /// Nodes looked at by one search up before falling back to a kept set.
    const LOCAL_STEPS: usize = 256;

    /// `order` must be a topological order of `deps` (from [`topo_order`]).
    /// `budget` bounds, in nodes and edges visited plus words stored, the
    /// work of all downstream sets together.
    pub fn new(deps: &'d [Vec<usize>], order: &[usize], budget: usize) -> Self {
        let n = deps.len();
        let mut dependents = vec![Vec::new(); n];
        for (node, ds) in deps.iter().enumerate() {
            for &d in ds {
                dependents[d].push(node);
            }
        }
        let mut position = vec![0; n];
        for (p, &node) in order.iter().enumerate() {
            position[node] = p;
        }
        let sorted_deps = deps
            .iter()
            .map(|ds| {
                let mut ds = ds.clone();
                ds.sort_unstable();
                ds
            })
            .collect();
        Ancestry {
            deps,
            dependents,
            sorted_deps,
            position,
            downstream: std::collections::HashMap::new(),
            seen: vec![0; n],
            epoch: 0,
            budget,
        }
    }

    /// Whether `node` depends on `upstream`, directly or not; `None` when
    /// the budget ran out before that was known.
    pub fn is_upstream(&mut self, upstream: usize, node: usize) -> Option<bool> {
        if self.sorted_deps[node].binary_search(&upstream).is_ok() {
            return Some(true);
        }
        if upstream == node || self.position[upstream] > self.position[node] {
            return Some(false);
        }
        if let Some(set) = self.downstream.get(&upstream) {
            return Some(set[node / 64] & (1 << (node % 64)) != 0);
        }
        if let Some(found) = self.search_up(upstream, node) {
            return Some(found);
        }
        let set = self.downstream_of(upstream)?;
        let found = set[node / 64] & (1 << (node % 64)) != 0;
        self.downstream.insert(upstream, set);
        Some(found)
    }

    /// A search up from `node` for `upstream` over nodes not before it in
    /// the order; `None` if it needed more than `LOCAL_STEPS` nodes.
    fn search_up(&mut self, upstream: usize, node: usize) -> Option<bool> {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.seen.fill(0);
            self.epoch = 1;
        }
        let floor = self.position[upstream];
        let mut stack = vec![node];
        let mut steps = 0;
        while let Some(n) = stack.pop() {
            for &d in &self.deps[n] {
                if d == upstream {
                    return Some(true);
                }
                if self.position[d] > floor && self.seen[d] != self.epoch {
                    self.seen[d] = self.epoch;
                    steps += 1;
                    if steps > Self::LOCAL_STEPS {
                        return None;
                    }
                    stack.push(d);
                }
            }
        }
        Some(false)
    }

    /// Every node downstream of `upstream` as a bit set, if the budget
    /// covers finding it.
    fn downstream_of(&mut self, upstream: usize) -> Option<Vec<u64>> {
        let words = self.deps.len().div_ceil(64);
        self.budget = self.budget.checked_sub(words)?;
        let mut set = vec![0u64; words];
        let mut stack = vec![upstream];
        while let Some(n) = stack.pop() {
            self.budget = self.budget.checked_sub(1 + self.dependents[n].len())?;
            for &next in &self.dependents[n] {
                if set[next / 64] & (1 << (next % 64)) == 0 {
                    set[next / 64] |= 1 << (next % 64);
                    stack.push(next);
                }
            }
        }
        Some(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_dependencies_first_keeping_file_order() {
        // 0 <- 2, 1 <- 2, 3 independent
        let deps = vec![vec![], vec![], vec![0, 1], vec![]];
        assert_eq!(topo_order(&deps), Ok(vec![0, 1, 2, 3]));
        let deps = vec![vec![1], vec![], vec![0]];
        assert_eq!(topo_order(&deps), Ok(vec![1, 0, 2]));
    }

    #[test]
    fn reports_a_cycle() {
        // 0 depends on 2, 2 on 1, 1 on 0: work flows 0 -> 1 -> 2 -> 0.
        let deps = vec![vec![2], vec![0], vec![1], vec![0]];
        let cycle = topo_order(&deps).unwrap_err();
        assert_eq!(cycle.first(), cycle.last());
        assert_eq!(cycle, vec![0, 1, 2, 0]);
        for pair in cycle.windows(2) {
            assert!(deps[pair[1]].contains(&pair[0]), "{cycle:?}");
        }
        assert_eq!(topo_order(&[vec![0]]), Err(vec![0, 0]));
    }

    #[test]
    fn finds_ancestors_transitively() {
        let deps = vec![vec![], vec![0], vec![1], vec![]];
        assert!(depends_on(&deps, 2, 1));
        assert!(depends_on(&deps, 2, 0));
        assert!(!depends_on(&deps, 0, 2));
        assert!(!depends_on(&deps, 3, 0));
        assert!(!depends_on(&deps, 2, 3));
        assert_eq!(reachable(&deps, 2), vec![true, true, false, false]);
    }

    #[test]
    fn ancestry_agrees_with_a_full_search() {
        // A chain of 2,000 with shortcuts, and a second chain beside it.
        let n = 4000;
        let deps: Vec<Vec<usize>> = (0..n)
            .map(|i| match i {
                0 | 2000 => vec![],
                _ if i % 7 == 0 && i > 2000 + 10 => vec![i - 1, i - 10],
                _ => vec![i - 1],
            })
            .collect();
        let order = topo_order(&deps).unwrap();
        let mut ancestry = Ancestry::new(&deps, &order, usize::MAX);
        for (up, node) in [
            (0, 1999),
            (0, 2000),
            (1998, 1999),
            (1000, 1002),
            (2001, 3999),
            (3999, 2001),
            (5, 5),
            (1999, 2500),
        ] {
            assert_eq!(
                ancestry.is_upstream(up, node),
                Some(depends_on(&deps, node, up)),
                "{up} {node}"
            );
        }
        // Out of budget: unknown, never a wrong answer.
        let mut poor = Ancestry::new(&deps, &order, 10);
        assert_eq!(poor.is_upstream(0, 1999), None);
        assert_eq!(poor.is_upstream(1998, 1999), Some(true));
        assert_eq!(poor.is_upstream(1999, 0), Some(false));
    }

    #[test]
    fn a_long_chain_orders_without_recursion() {
        let n = 200_000;
        let deps: Vec<Vec<usize>> = (0..n)
            .map(|i| if i == 0 { vec![] } else { vec![i - 1] })
            .collect();
        assert_eq!(topo_order(&deps).map(|o| o.len()), Ok(n));
        let mut cyclic = deps.clone();
        cyclic[0] = vec![n - 1];
        assert_eq!(topo_order(&cyclic).map_err(|c| c.len()), Err(n + 1));
    }
}
