//! Relations: collections reached through another record, such as the
//! students of a class or the classes of a term, and the roster writes
//! TimeBack adds beside them. Each is declared once here; the routes, the
//! OpenAPI entries and the store's scoped queries are built from these.
//!
//! A relation names the parents its path addresses (each must exist, or the
//! answer is a 404 naming it), and how the path's values scope the target
//! collection. The client's `filter`, `sort`, `fields`, `search` and paging
//! apply within that scope, exactly as on the collection itself.
//!
//! Where the documents are silent the choices are: a link through an
//! enrollment counts only while the enrollment is not `tobedeleted` (a
//! dropped student is no longer in the class); the records listed come in
//! every status, as every collection's do (`filter=status='active'` narrows).

use crate::model::academic_session::ACADEMIC_SESSIONS;
use crate::model::class::CLASSES;
use crate::model::course::COURSES;
use crate::model::enrollment::ENROLLMENTS;
use crate::model::org::ORGS;
use crate::model::user::USERS;
use crate::query::Scope;
use crate::resource::ResourceDecl;

/// A record a relation's path names, which must exist.
#[derive(Debug)]
pub struct ParentDecl {
    /// The path parameter holding its sourcedId.
    pub param: &'static str,
    pub decl: &'static ResourceDecl,
    /// What the 404 calls it: `school`, `term`, `student`.
    pub noun: &'static str,
    /// A value the parent must hold to be one (schools are orgs whose
    /// `type` is `school`), as the matching view (`/schools/{id}`) requires.
    pub kind: Option<(&'static str, &'static str)>,
    /// A field of the parent that must hold another parameter's value: a
    /// class addressed within a school must be that school's.
    pub within: Option<(&'static str, &'static str)>,
}

/// The path's parameter values, by name.
pub struct PathValues<'a>(pub &'a [(String, String)]);

impl PathValues<'_> {
    /// The value of a declared parameter (the router guarantees it).
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str())
    }
}

/// A read of a collection scoped by a path.
pub struct RelationDecl {
    pub operation_id: &'static str,
    /// Below the rostering prefix, parameters named as the documents name them.
    pub path: &'static str,
    pub target: &'static ResourceDecl,
    /// The body's array key: the target's collection, except where the
    /// documents say otherwise (`agents`).
    pub wrapper: &'static str,
    /// The array key TimeBack's documents give instead, where they differ
    /// from 1.2's (`students` for 1.2's `users`).
    pub timeback_wrapper: Option<&'static str>,
    pub parents: &'static [ParentDecl],
    /// The restriction the path's values put on the target.
    pub scope: fn(&PathValues) -> Vec<Scope>,
    /// Whether the documents give it the collection parameters; a relation
    /// without them answers with every record (up to the largest page).
    pub paged: bool,
    /// The semantics, for the OpenAPI document.
    pub description: &'static str,
}

impl RelationDecl {
    /// The body's array key for a TimeBack profile, or for strict 1.2.
    pub fn wrapper_for(&self, timeback: bool) -> &'static str {
        match self.timeback_wrapper {
            Some(key) if timeback => key,
            _ => self.wrapper,
        }
    }
}

impl std::fmt::Debug for RelationDecl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelationDecl")
            .field("operation_id", &self.operation_id)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// What a roster write does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    /// Creates an enrollment of the user in the body, with this role, in
    /// the class of the path (`addStudentToClass`).
    Enroll(&'static str),
    /// Adds the user named by `agentSourcedId` to the user's `agents`.
    AddAgent,
    /// Removes the agent of the path from the user's `agents`.
    RemoveAgent,
}

/// A write TimeBack declares beside the relations.
#[derive(Debug)]
pub struct WriteDecl {
    pub operation_id: &'static str,
    pub method: &'static str,
    pub path: &'static str,
    pub kind: WriteKind,
    pub parents: &'static [ParentDecl],
    pub description: &'static str,
}

const fn parent(param: &'static str, decl: &'static ResourceDecl, noun: &'static str) -> ParentDecl {
    ParentDecl {
        param,
        decl,
        noun,
        kind: None,
        within: None,
    }
}

const fn parent_of_kind(
    param: &'static str,
    decl: &'static ResourceDecl,
    noun: &'static str,
    kind: (&'static str, &'static str),
) -> ParentDecl {
    ParentDecl {
        kind: Some(kind),
        ..parent(param, decl, noun)
    }
}

const SCHOOL: ParentDecl = parent_of_kind("schoolSourcedId", &ORGS, "school", ("type", "school"));
const TERM: ParentDecl = parent_of_kind("termSourcedId", &ACADEMIC_SESSIONS, "term", ("type", "term"));
const CLASS: ParentDecl = parent("classSourcedId", &CLASSES, "class");
const CLASS_IN_SCHOOL: ParentDecl = ParentDecl {
    within: Some(("school.sourcedId", "schoolSourcedId")),
    ..CLASS
};

/// Enrollments that still link (not `tobedeleted`), meeting `when`.
fn live_enrollments(mut when: Vec<Scope>) -> Vec<Scope> {
    when.push(Scope::not_equals(&ENROLLMENTS, "status", "tobedeleted"));
    when
}

/// Users enrolled in the class with the role.
fn enrolled(class: &str, role: &str) -> Vec<Scope> {
    let when = live_enrollments(vec![
        Scope::equals(&ENROLLMENTS, "class.sourcedId", class),
        Scope::equals(&ENROLLMENTS, "role", role),
    ]);
    vec![Scope::via(&USERS, "sourcedId", &ENROLLMENTS, "user.sourcedId", when)]
}

/// Classes the user is enrolled in, with the role if one is given.
fn classes_of(user: &str, role: Option<&str>) -> Vec<Scope> {
    let mut when = vec![Scope::equals(&ENROLLMENTS, "user.sourcedId", user)];
    when.extend(role.map(|r| Scope::equals(&ENROLLMENTS, "role", r)));
    vec![Scope::via(
        &CLASSES,
        "sourcedId",
        &ENROLLMENTS,
        "class.sourcedId",
        live_enrollments(when),
    )]
}

/// Users holding the role at the school (in any of their `roles`).
fn school_users(school: &str, role: &str) -> Vec<Scope> {
    vec![
        Scope::equals(&USERS, "roles.role", role),
        Scope::equals(&USERS, "roles.org.sourcedId", school),
    ]
}

/// Every relation, in the order the documents list them.
pub static RELATIONS: &[RelationDecl] = &[
    RelationDecl {
        operation_id: "getClassesForSchool",
        path: "/schools/{schoolSourcedId}/classes",
        target: &CLASSES,
        wrapper: "classes",
        timeback_wrapper: None,
        parents: &[SCHOOL],
        scope: |p| vec![Scope::equals(&CLASSES, "school.sourcedId", p.get("schoolSourcedId"))],
        paged: true,
        description: "The classes whose school is this school.",
    },
    RelationDecl {
        operation_id: "getCoursesForSchool",
        path: "/schools/{schoolSourcedId}/courses",
        target: &COURSES,
        wrapper: "courses",
        timeback_wrapper: None,
        parents: &[SCHOOL],
        scope: |p| vec![Scope::equals(&COURSES, "org.sourcedId", p.get("schoolSourcedId"))],
        paged: true,
        description: "The courses whose org is this school.",
    },
    RelationDecl {
        operation_id: "getEnrollmentsForSchool",
        path: "/schools/{schoolSourcedId}/enrollments",
        target: &ENROLLMENTS,
        wrapper: "enrollments",
        timeback_wrapper: None,
        parents: &[SCHOOL],
        scope: |p| {
            let school = p.get("schoolSourcedId");
            let classes = vec![Scope::equals(&CLASSES, "school.sourcedId", school)];
            vec![Scope::Any(vec![
                Scope::equals(&ENROLLMENTS, "school.sourcedId", school),
                Scope::via(&ENROLLMENTS, "class.sourcedId", &CLASSES, "sourcedId", classes),
            ])]
        },
        paged: true,
        description: "The enrollments whose school is this school, or whose class is one of its classes \
            (TimeBack's enrollments may omit `school`), in every status.",
    },
    RelationDecl {
        operation_id: "getStudentsForSchool",
        path: "/schools/{schoolSourcedId}/students",
        target: &USERS,
        wrapper: "users",
        timeback_wrapper: None,
        parents: &[SCHOOL],
        scope: |p| school_users(p.get("schoolSourcedId"), "student"),
        paged: true,
        description: "The users with the role `student` whose roles include an org that is this school.",
    },
    RelationDecl {
        operation_id: "getTeachersForSchool",
        path: "/schools/{schoolSourcedId}/teachers",
        target: &USERS,
        wrapper: "users",
        timeback_wrapper: None,
        parents: &[SCHOOL],
        scope: |p| school_users(p.get("schoolSourcedId"), "teacher"),
        paged: true,
        description: "The users with the role `teacher` whose roles include an org that is this school.",
    },
    RelationDecl {
        operation_id: "getTermsForSchool",
        path: "/schools/{schoolSourcedId}/terms",
        target: &ACADEMIC_SESSIONS,
        wrapper: "academicSessions",
        timeback_wrapper: Some("terms"),
        parents: &[SCHOOL],
        scope: |p| {
            let classes = vec![Scope::equals(&CLASSES, "school.sourcedId", p.get("schoolSourcedId"))];
            vec![
                Scope::equals(&ACADEMIC_SESSIONS, "type", "term"),
                Scope::via(&ACADEMIC_SESSIONS, "sourcedId", &CLASSES, "terms.sourcedId", classes),
            ]
        },
        paged: true,
        description: "The academic sessions of type `term` that the school's classes are taught in.",
    },
    RelationDecl {
        operation_id: "getEnrollmentsForClassInSchool",
        path: "/schools/{schoolSourcedId}/classes/{classSourcedId}/enrollments",
        target: &ENROLLMENTS,
        wrapper: "enrollments",
        timeback_wrapper: None,
        parents: &[SCHOOL, CLASS_IN_SCHOOL],
        scope: |p| vec![Scope::equals(&ENROLLMENTS, "class.sourcedId", p.get("classSourcedId"))],
        paged: true,
        description: "The enrollments in the class, in every status; the class must be the school's (404 otherwise).",
    },
    RelationDecl {
        operation_id: "getStudentsForClassInSchool",
        path: "/schools/{schoolSourcedId}/classes/{classSourcedId}/students",
        target: &USERS,
        wrapper: "users",
        timeback_wrapper: None,
        parents: &[SCHOOL, CLASS_IN_SCHOOL],
        scope: |p| enrolled(p.get("classSourcedId"), "student"),
        paged: true,
        description: "The users enrolled in the class as `student` (enrollments marked tobedeleted do not \
            count); the class must be the school's (404 otherwise).",
    },
    RelationDecl {
        operation_id: "getTeachersForClassInSchool",
        path: "/schools/{schoolSourcedId}/classes/{classSourcedId}/teachers",
        target: &USERS,
        wrapper: "users",
        timeback_wrapper: None,
        parents: &[SCHOOL, CLASS_IN_SCHOOL],
        scope: |p| enrolled(p.get("classSourcedId"), "teacher"),
        paged: true,
        description: "The users enrolled in the class as `teacher` (enrollments marked tobedeleted do not \
            count); the class must be the school's (404 otherwise).",
    },
    RelationDecl {
        operation_id: "getStudentsForClass",
        path: "/classes/{classSourcedId}/students",
        target: &USERS,
        wrapper: "users",
        timeback_wrapper: Some("students"),
        parents: &[CLASS],
        scope: |p| enrolled(p.get("classSourcedId"), "student"),
        paged: true,
        description: "The users enrolled in the class as `student` (enrollments marked tobedeleted do not count).",
    },
    RelationDecl {
        operation_id: "getTeachersForClass",
        path: "/classes/{classSourcedId}/teachers",
        target: &USERS,
        wrapper: "users",
        timeback_wrapper: Some("teachers"),
        parents: &[CLASS],
        scope: |p| enrolled(p.get("classSourcedId"), "teacher"),
        paged: true,
        description: "The users enrolled in the class as `teacher` (enrollments marked tobedeleted do not count).",
    },
    RelationDecl {
        operation_id: "getClassesForCourse",
        path: "/courses/{courseSourcedId}/classes",
        target: &CLASSES,
        wrapper: "classes",
        timeback_wrapper: None,
        parents: &[parent("courseSourcedId", &COURSES, "course")],
        scope: |p| vec![Scope::equals(&CLASSES, "course.sourcedId", p.get("courseSourcedId"))],
        paged: true,
        description: "The classes whose course is this course.",
    },
    RelationDecl {
        operation_id: "getClassesForStudent",
        path: "/students/{studentSourcedId}/classes",
        target: &CLASSES,
        wrapper: "classes",
        timeback_wrapper: None,
        parents: &[parent_of_kind(
            "studentSourcedId",
            &USERS,
            "student",
            ("roles.role", "student"),
        )],
        scope: |p| classes_of(p.get("studentSourcedId"), Some("student")),
        paged: true,
        description: "The classes the student is enrolled in as `student` (enrollments marked tobedeleted \
            do not count).",
    },
    RelationDecl {
        operation_id: "getClassesForTeacher",
        path: "/teachers/{teacherSourcedId}/classes",
        target: &CLASSES,
        wrapper: "classes",
        timeback_wrapper: None,
        parents: &[parent_of_kind(
            "teacherSourcedId",
            &USERS,
            "teacher",
            ("roles.role", "teacher"),
        )],
        scope: |p| classes_of(p.get("teacherSourcedId"), Some("teacher")),
        paged: true,
        description: "The classes the teacher is enrolled in as `teacher` (enrollments marked tobedeleted \
            do not count).",
    },
    RelationDecl {
        operation_id: "getClassesForTerm",
        path: "/terms/{termSourcedId}/classes",
        target: &CLASSES,
        wrapper: "classes",
        timeback_wrapper: None,
        parents: &[TERM],
        scope: |p| vec![Scope::equals(&CLASSES, "terms.sourcedId", p.get("termSourcedId"))],
        paged: true,
        description: "The classes whose terms include this term.",
    },
    RelationDecl {
        operation_id: "getGradingPeriodsForTerm",
        path: "/terms/{termSourcedId}/gradingPeriods",
        target: &ACADEMIC_SESSIONS,
        wrapper: "academicSessions",
        timeback_wrapper: Some("gradingPeriods"),
        parents: &[TERM],
        scope: |p| {
            vec![
                Scope::equals(&ACADEMIC_SESSIONS, "type", "gradingPeriod"),
                Scope::equals(&ACADEMIC_SESSIONS, "parent.sourcedId", p.get("termSourcedId")),
            ]
        },
        paged: true,
        description: "The academic sessions of type `gradingPeriod` whose parent is this term.",
    },
    RelationDecl {
        operation_id: "getClassesForUser",
        path: "/users/{userSourcedId}/classes",
        target: &CLASSES,
        wrapper: "classes",
        timeback_wrapper: None,
        parents: &[parent("userSourcedId", &USERS, "user")],
        scope: |p| classes_of(p.get("userSourcedId"), None),
        paged: true,
        description: "The classes the user is enrolled in, in any role (enrollments marked tobedeleted do not count).",
    },
    RelationDecl {
        operation_id: "getAgents",
        path: "/users/{userId}/agents",
        target: &USERS,
        wrapper: "agents",
        timeback_wrapper: None,
        parents: &[parent("userId", &USERS, "user")],
        scope: |p| {
            let user = vec![Scope::equals(&USERS, "sourcedId", p.get("userId"))];
            vec![Scope::via(&USERS, "sourcedId", &USERS, "agents.sourcedId", user)]
        },
        paged: false,
        description: "The users the user's `agents` name (parents, guardians), all of them in one answer \
            (up to the largest page); an agent that is not a stored user is left out.",
    },
    RelationDecl {
        operation_id: "getAgentFor",
        path: "/users/{userId}/agentFor",
        target: &USERS,
        wrapper: "users",
        timeback_wrapper: None,
        parents: &[parent("userId", &USERS, "user")],
        scope: |p| vec![Scope::equals(&USERS, "agents.sourcedId", p.get("userId"))],
        paged: false,
        description: "The users whose `agents` name this user (a parent's children), all of them in one \
            answer (up to the largest page).",
    },
];

/// Every roster write, in the order the documents list them.
pub static WRITES: &[WriteDecl] = &[
    WriteDecl {
        operation_id: "addStudentToClass",
        method: "post",
        path: "/classes/{classSourcedId}/students",
        kind: WriteKind::Enroll("student"),
        parents: &[CLASS],
        description: "Creates an enrollment of `enrollment.user` in the class with the role `student`, \
            through the same checks as createEnrollment; its `school` is the class's. 404 when the class \
            or the user does not exist, 409 when the user is already enrolled in the class as a student \
            (an enrollment not marked tobedeleted), or when a supplied sourcedId is taken.",
    },
    WriteDecl {
        operation_id: "addTeacherToClass",
        method: "post",
        path: "/classes/{classSourcedId}/teachers",
        kind: WriteKind::Enroll("teacher"),
        parents: &[CLASS],
        description: "Creates an enrollment of `enrollment.user` in the class with the role `teacher`, \
            through the same checks as createEnrollment; its `school` is the class's. 404 when the class \
            or the user does not exist, 409 when the user is already enrolled in the class as a teacher \
            (an enrollment not marked tobedeleted), or when a supplied sourcedId is taken.",
    },
    WriteDecl {
        operation_id: "addAgent",
        method: "post",
        path: "/users/{userId}/agents",
        kind: WriteKind::AddAgent,
        parents: &[parent("userId", &USERS, "user")],
        description: "Adds the user `agentSourcedId` to the user's `agents` (an update of the user, with a \
            new dateLastModified); adding an agent already there changes nothing. 404 when either user \
            does not exist, 422 when a user would be its own agent. Answers `{\"user\": …}`, the user \
            as stored.",
    },
    WriteDecl {
        operation_id: "deleteAgent",
        method: "delete",
        path: "/users/{userId}/agents/{agentSourcedId}",
        kind: WriteKind::RemoveAgent,
        parents: &[parent("userId", &USERS, "user")],
        description: "Removes `agentSourcedId` from the user's `agents` (an update of the user, with a new \
            dateLastModified; the agent's own record is untouched). 404 when the user does not exist or \
            the agent is not among its agents. Answers `{\"user\": …}`, the user as stored.",
    },
];

/// The names of a path template's parameters, in order.
pub fn path_params(path: &'static str) -> impl Iterator<Item = &'static str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every scope names declared fields (the constructors panic otherwise)
    /// and reads the path's last parameter; every parent is in the path.
    #[test]
    fn every_relation_builds_its_scope_from_its_own_path() {
        for relation in RELATIONS {
            let params: Vec<(String, String)> = path_params(relation.path)
                .map(|name| (name.to_owned(), format!("{name}-value")))
                .collect();
            let scope = (relation.scope)(&PathValues(&params));
            assert!(!scope.is_empty(), "{}", relation.operation_id);
            let (name, value) = params.last().expect("a parameter");
            assert!(
                format!("{scope:?}").contains(value),
                "{} ignores {name}",
                relation.operation_id
            );
            for parent in relation.parents {
                assert!(relation.path.contains(&format!("{{{}}}", parent.param)));
            }
        }
    }

    #[test]
    fn operation_ids_are_unique() {
        let mut ids: Vec<&str> = RELATIONS.iter().map(|r| r.operation_id).collect();
        ids.extend(WRITES.iter().map(|w| w.operation_id));
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count);
    }
}
