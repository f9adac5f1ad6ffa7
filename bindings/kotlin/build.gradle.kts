import org.jetbrains.kotlin.gradle.dsl.JvmTarget
import org.jetbrains.kotlin.gradle.dsl.KotlinJvmProjectExtension

plugins {
    alias(libs.plugins.android.library) apply false
    alias(libs.plugins.kotlin.android) apply false
    alias(libs.plugins.kotlin.jvm) apply false
    alias(libs.plugins.dokka) apply false
}

// One version for the whole SDK: the Cargo workspace's (`[workspace.package] version`), which
// the core also reports at run time (`sdkVersion()`).
val sdkVersion: String = Regex("""(?m)^version\s*=\s*"([^"]+)"""")
    .find(rootDir.resolve("../../Cargo.toml").readText())
    ?.groupValues?.get(1)
    ?: error("no version in the workspace Cargo.toml")

allprojects {
    group = "dev.dialtone"
    version = sdkVersion
}

// Maven publication metadata shared by dialtone-android, dialtone-jvm and dialtone-testing:
// the POM Maven Central requires (name, description, url, licence, developers, scm). Each
// module publishes its sources and Javadoc jars next to the binary (see its build file).
// `./gradlew publishToMavenLocal` or `publishAllPublicationsToReleaseRepository`
// (scripts/release sets DIALTONE_MAVEN_REPO, a directory or a repository URL).
subprojects {
    plugins.withId("maven-publish") {
        configure<PublishingExtension> {
            repositories {
                maven {
                    name = "release"
                    url = uri(System.getenv("DIALTONE_MAVEN_REPO") ?: rootProject.layout.buildDirectory.dir("maven").get().asFile.toURI())
                }
            }
            publications.withType<MavenPublication>().configureEach {
                pom {
                    name.set(project.name)
                    description.set(project.description)
                    url.set("https://github.com/dialtone-sdk/dialtone")
                    licenses {
                        license {
                            name.set("Apache-2.0")
                            url.set("https://www.apache.org/licenses/LICENSE-2.0.txt")
                        }
                    }
                    developers {
                        developer {
                            id.set("dialtone")
                            name.set("The Dialtone developers")
                        }
                    }
                    scm {
                        url.set("https://github.com/dialtone-sdk/dialtone")
                        connection.set("scm:git:https://github.com/dialtone-sdk/dialtone.git")
                    }
                }
            }
        }
    }
}

// The JVM modules (dialtone-jvm, dialtone-testing): Java 17 bytecode, warnings as errors, a
// sources jar, and a Javadoc jar made by Dokka (Maven Central requires one).
subprojects {
    plugins.withId("org.jetbrains.kotlin.jvm") {
        configure<KotlinJvmProjectExtension> {
            jvmToolchain(17)
            compilerOptions {
                jvmTarget.set(JvmTarget.JVM_17)
                allWarningsAsErrors.set(true)
            }
        }
        configure<JavaPluginExtension> { withSourcesJar() }
    }
    plugins.withId("org.jetbrains.dokka") {
        val javadocJar = tasks.register<Jar>("javadocJar") {
            archiveClassifier.set("javadoc")
            from(tasks.named("dokkaGeneratePublicationHtml"))
        }
        plugins.withId("maven-publish") {
            configure<PublishingExtension> {
                publications.withType<MavenPublication>().configureEach { artifact(javadocJar) }
            }
        }
    }
}
