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
}
